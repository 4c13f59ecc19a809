package sigil

import (
	"context"
	"net/http"
	"net/url"
)

// PairingsService opens pairing codes for approver devices. Use it as client.Pairings.
type PairingsService struct{ c *Client }

// Create opens a pairing: a single-use 8-digit code, valid for 5 minutes, that a person enters
// on their approver device. Show them Code and Pictogram; once the device has paired,
// [PairingsService.Get] returns its fingerprint and public key.
//
// The server has no idempotency key for pairings, so Create is not retried after the server
// may have acted on it (that could open a second pairing); 429 and refused connections are
// retried.
func (s *PairingsService) Create(ctx context.Context, opts PairingOptions) (*PairingCreated, error) {
	if opts.Name != "" && utf16Len(opts.Name) > 100 {
		return nil, &ValidationError{Message: "name must be 1 to 100 characters"}
	}
	var out PairingCreated
	if err := s.c.do(ctx, call{method: http.MethodPost, path: "/v1/pairings", body: opts}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns a pairing's state; once completed it names the paired device (see
// [Pairing.Approver]).
func (s *PairingsService) Get(ctx context.Context, pairingID string) (*Pairing, error) {
	if pairingID == "" {
		return nil, &ValidationError{Message: "pairing_id is required"}
	}
	var out Pairing
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/pairings/" + url.PathEscape(pairingID), idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
