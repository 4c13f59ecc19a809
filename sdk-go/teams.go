package sigil

import (
	"context"
	"net/http"
	"time"
)

// Team is an approval team: a named set of an organisation's devices that a request's group
// can name (ApprovalGroup.Team) instead of listing approvers.
type Team struct {
	// Slug names the team in requests and URLs: 1-63 lower-case letters, digits, '-' or '_'.
	Slug string `json:"slug"`
	// Name is shown in the console.
	Name string `json:"name"`
	// MinMembers: a request naming the team is refused when fewer members can approve.
	MinMembers int `json:"min_members"`
	// Members are the team's devices, revoked ones included (they are never resolved into a request).
	Members []TeamMember `json:"members"`
	// ActiveMembers is how many members a new request would resolve to.
	ActiveMembers int       `json:"active_members"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// TeamMember is one device of a team.
type TeamMember struct {
	Fingerprint string       `json:"fingerprint"`
	Name        string       `json:"name"`
	Status      DeviceStatus `json:"status"`
	// OwnerID is the device's owner ([DevicesService.SetOwner]); empty when unset.
	OwnerID string `json:"owner_id,omitempty"`
}

// TeamInput is the body of a new team.
type TeamInput struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Members are fingerprints of the organisation's active devices.
	Members []string `json:"members,omitempty"`
	// MinMembers defaults to 1 when zero.
	MinMembers int `json:"min_members,omitempty"`
}

// TeamUpdate changes a team; zero fields are left as they are.
type TeamUpdate struct {
	Name          string   `json:"name,omitempty"`
	MinMembers    int      `json:"min_members,omitempty"`
	AddMembers    []string `json:"add_members,omitempty"`
	RemoveMembers []string `json:"remove_members,omitempty"`
}

// TeamsService manages approval teams. Use it as client.Teams. Every change is an audit entry
// and a webhook event (team.created, team.updated, team.deleted); requests already created
// keep the members they froze.
type TeamsService struct{ c *Client }

func checkSlug(slug string) error {
	if !teamSlugPattern.MatchString(slug) {
		return &ValidationError{Message: "team slug must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit"}
	}
	return nil
}

// Create creates a team.
func (s *TeamsService) Create(ctx context.Context, input TeamInput) (*Team, error) {
	if err := checkSlug(input.Slug); err != nil {
		return nil, err
	}
	var out Team
	if err := s.c.do(ctx, call{method: http.MethodPost, path: "/v1/teams", body: input}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List returns every team of the organisation, by slug.
func (s *TeamsService) List(ctx context.Context) ([]Team, error) {
	var page struct {
		Data []Team `json:"data"`
	}
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/teams", idempotent: true}, &page); err != nil {
		return nil, err
	}
	return page.Data, nil
}

// Get returns one team; an unknown slug is an [*APIError] matching [ErrNotFound].
func (s *TeamsService) Get(ctx context.Context, slug string) (*Team, error) {
	if err := checkSlug(slug); err != nil {
		return nil, err
	}
	var out Team
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/teams/" + slug, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update renames a team, changes its minimum size, or adds and removes members.
func (s *TeamsService) Update(ctx context.Context, slug string, update TeamUpdate) (*Team, error) {
	if err := checkSlug(slug); err != nil {
		return nil, err
	}
	var out Team
	if err := s.c.do(ctx, call{method: http.MethodPatch, path: "/v1/teams/" + slug, body: update, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete deletes a team.
func (s *TeamsService) Delete(ctx context.Context, slug string) error {
	if err := checkSlug(slug); err != nil {
		return err
	}
	return s.c.do(ctx, call{method: http.MethodDelete, path: "/v1/teams/" + slug, idempotent: true}, nil)
}
