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

// SetOwner links a device to its owner, as your application names the person; an empty ownerID
// unlinks it. A request with RequestedBy{ID: ownerID} never counts that owner's devices, nor
// their other devices when it names one of them by fingerprint.
func (s *DevicesService) SetOwner(ctx context.Context, fingerprint, ownerID string) (*Device, error) {
	if fingerprint == "" {
		return nil, &ValidationError{Message: "fingerprint is required"}
	}
	var owner any
	if ownerID != "" {
		if !ownerIDPattern.MatchString(ownerID) {
			return nil, &ValidationError{Message: "ownerID must be 1-200 printable ASCII characters without spaces"}
		}
		owner = ownerID
	}
	var out Device
	body := map[string]any{"owner_id": owner}
	if err := s.c.do(ctx, call{method: http.MethodPut, path: "/v1/devices/" + url.PathEscape(fingerprint) + "/owner", body: body, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
