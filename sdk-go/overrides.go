package sigil

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// OverrideInput records an emergency action performed without approval.
type OverrideInput struct {
	// Reason says why approval could not wait; at most 1000 characters.
	Reason string `json:"reason"`
	// Action is the action performed; its description is at most 900 characters.
	Action MPAAction `json:"action"`
	// RequestedBy optionally names who performed it: their own devices do not review it.
	RequestedBy *RequestedBy `json:"requested_by,omitempty"`
}

// Override is an emergency override and where its review stands.
type Override struct {
	OverrideID string `json:"override_id"`
	// Status is "awaiting_review" until the review request ends, then "reviewed".
	Status      string       `json:"status"`
	Reason      string       `json:"reason"`
	Action      MPAAction    `json:"action"`
	RequestedBy *RequestedBy `json:"requested_by"`
	CreatedAt   time.Time    `json:"created_at"`
	ReviewedAt  *time.Time   `json:"reviewed_at"`
	// ReviewRequestID is the post-facto review request (action type "emergency_override").
	ReviewRequestID string `json:"review_request_id"`
	// ReviewStatus is the review request's status: approved means the override is endorsed.
	ReviewStatus MPAStatus `json:"review_status"`
}

// OverrideCreated is an override as recorded, with its review request.
type OverrideCreated struct {
	Override
	ReviewRequest MPARequestView `json:"review_request"`
}

// OverrideSettings are an organisation's break-glass settings.
type OverrideSettings struct {
	// Enabled: overrides are off until turned on with at least one review team.
	Enabled bool `json:"enabled"`
	// DailyLimit is the most overrides in any 24 hours; nil: no limit.
	DailyLimit *int `json:"daily_limit"`
	// ReviewTeams are the slugs of the teams that review each override, one group each.
	ReviewTeams []string `json:"review_teams"`
	// ReviewRequired is how many of those groups must endorse an override.
	ReviewRequired int `json:"review_required"`
	// ReviewExpiresInSeconds is the review request's expiry, 60 to 900.
	ReviewExpiresInSeconds int `json:"review_expires_in_seconds"`
}

// OverridesService records emergency overrides (break glass). Use it as client.Overrides.
type OverridesService struct{ c *Client }

// Create records an override and opens its review request, and returns at once. It is never
// retried (each call is one override): after a network error, List before trying again. A
// refusal is an [*APIError] with Code "overrides_disabled" (403) or "override_limit_reached"
// (429, with RetryAfter).
func (s *OverridesService) Create(ctx context.Context, input OverrideInput) (*OverrideCreated, error) {
	if strings.TrimSpace(input.Reason) == "" {
		return nil, &ValidationError{Message: "reason is required"}
	}
	if input.RequestedBy != nil {
		if err := validateRequestedBy(*input.RequestedBy); err != nil {
			return nil, err
		}
	}
	var out OverrideCreated
	if err := s.c.do(ctx, call{method: http.MethodPost, path: "/v1/overrides", body: input, once: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns the most recent overrides (at most 100), newest first; status "awaiting_review"
// or "reviewed" filters them, "" lists all.
func (s *OverridesService) List(ctx context.Context, status string) ([]Override, error) {
	var query url.Values
	if status != "" {
		query = url.Values{"status": {status}}
	}
	var page struct {
		Data []Override `json:"data"`
	}
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/overrides", query: query, idempotent: true}, &page); err != nil {
		return nil, err
	}
	return page.Data, nil
}

// Settings returns the organisation's break-glass settings.
func (s *OverridesService) Settings(ctx context.Context) (*OverrideSettings, error) {
	var out OverrideSettings
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/overrides/settings", idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSettings replaces the organisation's break-glass settings.
func (s *OverridesService) UpdateSettings(ctx context.Context, settings OverrideSettings) (*OverrideSettings, error) {
	if settings.ReviewTeams == nil {
		settings.ReviewTeams = []string{}
	}
	var out OverrideSettings
	if err := s.c.do(ctx, call{method: http.MethodPut, path: "/v1/overrides/settings", body: settings, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
