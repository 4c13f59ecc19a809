package sigil

// Teams, device owners, requester exclusion and overrides against the real Sigil server
// (startSigil in integration_test.go), with Go test devices as approvers.

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGovernanceWithTheRealServer(t *testing.T) {
	s := startSigil(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client, err := New(Config{ServiceURL: s.URL, APIKey: s.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := newGoDevice(t, "Alice"), newGoDevice(t, "Bob"), newGoDevice(t, "Carol")
	for _, d := range []*goDevice{alice, bob, carol} {
		created, err := client.Pairings.Create(ctx, PairingOptions{Name: d.Name()})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Pair(ctx, s.URL, s.ServerID, created.Code); err != nil {
			t.Fatalf("pairing %s: %v", d.Name(), err)
		}
	}
	approver := func(d *goDevice) Approver {
		return Approver{Fingerprint: d.Fingerprint(), DevicePublicKey: d.PublicKey()}
	}
	apiCode := func(err error) string {
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("want an *APIError, got %v", err)
		}
		return apiErr.Code
	}

	// Teams
	team, err := client.Teams.Create(ctx, TeamInput{Slug: "security", Name: "Security Team", Members: []string{carol.Fingerprint()}})
	if err != nil || team.ActiveMembers != 1 || team.MinMembers != 1 || team.Members[0].Name != "Carol" {
		t.Fatalf("create: %+v %v", team, err)
	}
	team, err = client.Teams.Update(ctx, "security", TeamUpdate{AddMembers: []string{bob.Fingerprint()}, MinMembers: 2})
	if err != nil || team.ActiveMembers != 2 || team.MinMembers != 2 {
		t.Fatalf("update: %+v %v", team, err)
	}
	if teams, err := client.Teams.List(ctx); err != nil || len(teams) != 1 || teams[0].Slug != "security" {
		t.Fatalf("list: %+v %v", teams, err)
	}
	if _, err := client.Teams.Create(ctx, TeamInput{Slug: "security", Name: "Again"}); apiCode(err) != "team_exists" {
		t.Fatalf("duplicate slug: %v", err)
	}
	var validation *ValidationError
	if _, err := client.Teams.Get(ctx, "Not a slug"); !errors.As(err, &validation) {
		t.Fatalf("bad slug: %v", err)
	}

	// Owners and requester exclusion
	device, err := client.Devices.SetOwner(ctx, bob.Fingerprint(), "user-bob")
	if err != nil || device.OwnerID != "user-bob" {
		t.Fatalf("set owner: %+v %v", device, err)
	}
	request := MPARequest{
		Required: 2,
		Groups: []ApprovalGroup{
			{Name: "Engineering Leads", Approvers: []Approver{approver(alice)}},
			{Name: "Security Team", Team: "security"},
		},
		Action: MPAAction{Type: "cold_boot", Description: "Cold boot engine ENG-001", Params: map[string]any{"engine_id": "ENG-001"}},
	}
	created, err := client.MPA.Request(ctx, request)
	if err != nil || created.GroupsTotal != 2 {
		t.Fatalf("request naming a team: %+v %v", created, err)
	}
	// Bob approves for the team: the frozen members decide.
	if err := bob.Decide(ctx, s.URL, s.ServerID, created, "approve"); err != nil {
		t.Fatalf("bob approves: %v", err)
	}
	if err := alice.Decide(ctx, s.URL, s.ServerID, created, "approve"); err != nil {
		t.Fatalf("alice approves: %v", err)
	}
	if got, err := client.MPA.Get(ctx, created.RequestID); err != nil || got.Status != StatusApproved {
		t.Fatalf("after both approvals: %+v %v", got, err)
	}
	request.RequestedBy = &RequestedBy{ID: "user-bob"}
	if _, err := client.MPA.Request(ctx, request); apiCode(err) != "team_below_minimum" {
		t.Fatalf("requester left out below the team's minimum: %v", err)
	}

	// Overrides
	settings, err := client.Overrides.Settings(ctx)
	if err != nil || settings.Enabled {
		t.Fatalf("default settings: %+v %v", settings, err)
	}
	override := OverrideInput{Reason: "Production down", Action: MPAAction{Type: "restart_db", Description: "Restart the primary database"}}
	if _, err := client.Overrides.Create(ctx, override); apiCode(err) != "overrides_disabled" {
		t.Fatalf("disabled: %v", err)
	}
	limit := 1
	if _, err := client.Overrides.UpdateSettings(ctx, OverrideSettings{Enabled: true, DailyLimit: &limit, ReviewTeams: []string{"security"}, ReviewRequired: 1, ReviewExpiresInSeconds: 900}); err != nil {
		t.Fatal(err)
	}
	recorded, err := client.Overrides.Create(ctx, override)
	if err != nil || recorded.Status != "awaiting_review" || recorded.ReviewRequest.Action.Type != "emergency_override" || recorded.ReviewStatus != StatusPending {
		t.Fatalf("override: %+v %v", recorded, err)
	}
	awaiting, err := client.Overrides.List(ctx, "awaiting_review")
	if err != nil || len(awaiting) != 1 || awaiting[0].OverrideID != recorded.OverrideID {
		t.Fatalf("awaiting review: %+v %v", awaiting, err)
	}
	_, err = client.Overrides.Create(ctx, override)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "override_limit_reached" || apiErr.Status != 429 || apiErr.Attempts != 1 || apiErr.RetryAfter <= 0 {
		t.Fatalf("over the daily limit: %+v", err)
	}
	review, err := client.MPA.Get(ctx, recorded.ReviewRequestID)
	if err != nil {
		t.Fatal(err)
	}
	if err := carol.Decide(ctx, s.URL, s.ServerID, review, "approve"); err != nil {
		t.Fatalf("carol endorses: %v", err)
	}
	if reviewed, err := client.Overrides.List(ctx, "reviewed"); err != nil || len(reviewed) != 1 || reviewed[0].ReviewStatus != StatusApproved {
		t.Fatalf("reviewed: %+v %v", reviewed, err)
	}
	if err := client.Teams.Delete(ctx, "security"); apiCode(err) != CodeTeamInUse {
		t.Fatalf("deleting a review team: %v", err)
	}
	if _, err := client.Overrides.UpdateSettings(ctx, OverrideSettings{ReviewTeams: []string{}, ReviewRequired: 1, ReviewExpiresInSeconds: 900}); err != nil {
		t.Fatal(err)
	}
	if err := client.Teams.Delete(ctx, "security"); err != nil {
		t.Fatal(err)
	}
}
