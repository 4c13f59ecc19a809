package sigil

import (
	"context"
	"net/http"
	"net/url"
)

// DevicesService lists and revokes paired approver devices. Use it as client.Devices.
type DevicesService struct{ c *Client }

// List returns every device paired with your organisation, revoked ones included, oldest
// first.
func (s *DevicesService) List(ctx context.Context) ([]Device, error) {
	var page struct {
		Data []Device `json:"data"`
	}
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/devices", idempotent: true}, &page); err != nil {
		return nil, err
	}
	return page.Data, nil
}

// Revoke revokes a device: it can no longer decide anything, requests already open included.
// It returns the device with status revoked. Revoking a revoked device is harmless; an unknown
// fingerprint is an [*APIError] matching [ErrNotFound].
func (s *DevicesService) Revoke(ctx context.Context, fingerprint string) (*Device, error) {
	if fingerprint == "" {
		return nil, &ValidationError{Message: "fingerprint is required"}
	}
	var out Device
	if err := s.c.do(ctx, call{method: http.MethodDelete, path: "/v1/devices/" + url.PathEscape(fingerprint), idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
