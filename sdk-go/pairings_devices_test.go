package sigil

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPairingsCreateAndGet(t *testing.T) {
	key := newTestKey(t)
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		switch {
		case r.Method == "POST":
			var name any
			if strings.Contains(string(body), "Alice") {
				name = "Alice"
			}
			writeJSON(w, 201, map[string]any{
				"pairing_id": "45daab94-dec8-4b04-9019-77fbda0995de", "code": "63795466", "status": "pending", "name": name,
				"expires_at": "2026-11-30T05:07:45.338Z", "server_id": strings.Repeat("ab", 32), "server_public_key": "AukOJZeDkrZCWw51vFmIQQnm8zyLZhJLzoaoooUpCy91",
				"pictogram": map[string]any{"emoji": []string{"🐶", "👓", "🎁", "🐢", "🌏"}, "names": []string{"dog", "glasses", "gift", "turtle", "globe"}, "text": "🐶 👓 🎁 🐢 🌏"},
			})
		case strings.HasSuffix(r.URL.Path, "/missing"):
			writeError(w, 404, "not_found", "pairing not found", nil)
		default:
			writeJSON(w, 200, map[string]any{
				"pairing_id": "45daab94-dec8-4b04-9019-77fbda0995de", "status": "completed", "name": "Alice's phone",
				"expires_at": "2026-11-30T05:07:45.338Z", "created_at": "2026-11-30T05:02:45.338Z", "completed_at": "2026-11-30T05:03:00.000Z",
				"fingerprint": key.fingerprint, "device_public_key": key.publicKey,
			})
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx := context.Background()
	created, err := c.Pairings.Create(ctx, PairingOptions{Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Code != "63795466" || created.Status != PairingPending || created.Name != "Alice" || created.Pictogram.Text != "🐶 👓 🎁 🐢 🌏" ||
		created.ExpiresAt.IsZero() || len(created.ServerID) != 64 {
		t.Fatalf("created = %+v", created)
	}
	unnamed, err := c.Pairings.Create(ctx, PairingOptions{})
	if err != nil || unnamed.Name != "" {
		t.Fatalf("unnamed = %+v, %v", unnamed, err)
	}
	got, err := c.Pairings.Get(ctx, created.PairingID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != PairingCompleted || got.CompletedAt == nil || got.Approver() != key.approver() {
		t.Fatalf("got = %+v", got)
	}
	if _, err := c.Pairings.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	reqs := srv.recorded()
	if string(reqs[0].Body) != `{"name":"Alice"}` || string(reqs[1].Body) != `{}` || reqs[2].Path != "/v1/pairings/"+created.PairingID {
		t.Fatalf("requests: %s | %s | %s", reqs[0].Body, reqs[1].Body, reqs[2].Path)
	}

	if _, err := c.Pairings.Create(ctx, PairingOptions{Name: strings.Repeat("n", 101)}); err == nil || err.Error() != "name must be 1 to 100 characters" {
		t.Fatalf("long name: %v", err)
	}
	if _, err := c.Pairings.Get(ctx, ""); err == nil || err.Error() != "pairing_id is required" {
		t.Fatalf("empty id: %v", err)
	}
	if srv.count() != 4 {
		t.Fatalf("invalid calls reached the server: %d", srv.count())
	}
}

func TestDevicesListAndRevoke(t *testing.T) {
	a, b := newTestKey(t), newTestKey(t)
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		switch {
		case r.Method == "GET":
			writeJSON(w, 200, map[string]any{"data": []any{
				map[string]any{"fingerprint": a.fingerprint, "device_public_key": a.publicKey, "name": "Alice", "paired_at": "2026-04-24T10:00:00.000Z", "status": "active"},
				map[string]any{"fingerprint": b.fingerprint, "device_public_key": b.publicKey, "name": "Bob", "paired_at": "2026-04-24T10:01:00.000Z", "status": "revoked", "revoked_at": "2026-04-24T11:00:00.000Z"},
			}})
		case strings.HasSuffix(r.URL.Path, a.fingerprint):
			writeJSON(w, 200, map[string]any{"fingerprint": a.fingerprint, "device_public_key": a.publicKey, "name": "Alice", "paired_at": "2026-04-24T10:00:00.000Z", "status": "revoked", "revoked_at": time.Now().UTC().Format(time.RFC3339Nano)})
		default:
			writeError(w, 404, "not_found", "device not found", nil)
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx := context.Background()
	devices, err := c.Devices.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 || devices[0].Status != DeviceActive || devices[0].RevokedAt != nil || devices[1].Status != DeviceRevoked || devices[1].RevokedAt == nil || devices[0].Approver() != a.approver() {
		t.Fatalf("devices = %+v", devices)
	}
	revoked, err := c.Devices.Revoke(ctx, a.fingerprint)
	if err != nil || revoked.Status != DeviceRevoked || revoked.RevokedAt == nil {
		t.Fatalf("revoked = %+v, %v", revoked, err)
	}
	if r := srv.recorded()[1]; r.Method != "DELETE" || r.Path != "/v1/devices/"+a.fingerprint {
		t.Fatalf("revoke sent %s %s", r.Method, r.Path)
	}
	if _, err := c.Devices.Revoke(ctx, strings.Repeat("0", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if _, err := c.Devices.Revoke(ctx, ""); err == nil || err.Error() != "fingerprint is required" {
		t.Fatalf("empty fingerprint: %v", err)
	}
}
