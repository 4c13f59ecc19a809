package sigil

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testKey is a P-256 device key with its wire encodings.
type testKey struct {
	priv        *ecdsa.PrivateKey
	publicKey   string // 33-byte compressed point, standard base64
	fingerprint string // lower-case hex SHA-256 of the 33 bytes
}

func newTestKey(t testing.TB) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	compressed := elliptic.MarshalCompressed(elliptic.P256(), priv.X, priv.Y)
	sum := sha256.Sum256(compressed)
	return testKey{priv: priv, publicKey: base64.StdEncoding.EncodeToString(compressed), fingerprint: hex.EncodeToString(sum[:])}
}

func (k testKey) approver() Approver {
	return Approver{Fingerprint: k.fingerprint, DevicePublicKey: k.publicKey}
}

// guideRequest is the guide's cold-boot request with real keys.
func guideRequest(t testing.TB) MPARequest {
	t.Helper()
	a, b, c, d, e := newTestKey(t), newTestKey(t), newTestKey(t), newTestKey(t), newTestKey(t)
	return MPARequest{
		Required: 2,
		Groups: []ApprovalGroup{
			{Name: "Engineering Leads", Approvers: []Approver{a.approver(), b.approver()}},
			{Name: "Security Team", Approvers: []Approver{c.approver()}},
			{Name: "Operations", Approvers: []Approver{d.approver(), e.approver()}},
		},
		Action: MPAAction{
			Type:        "cold_boot",
			Description: "Cold boot engine ENG-001",
			Params: map[string]any{
				"engine_id":    "ENG-001",
				"reason":       "Scheduled maintenance",
				"requested_by": "alice@example.com",
				"ticket":       "MAINT-1234",
			},
		},
		ExpiresInSeconds: 600,
	}
}

// recordedRequest is one request the fake server received.
type recordedRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeServer is an httptest server that records every request and answers with handler;
// n is the 1-based number of the request.
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
}

func newFakeServer(t testing.TB, handler func(w http.ResponseWriter, r *http.Request, n int, body []byte)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recordedRequest{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		n := len(f.requests)
		f.mu.Unlock()
		handler(w, r, n, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) recorded() []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedRequest(nil), f.requests...)
}

func (f *fakeServer) count() int { return len(f.recorded()) }

// sleepRecorder replaces the client's sleep: it records each delay and returns at once.
type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

const testAPIKey = "sgk_test_0123456789abcdef"

// newTestClient returns a client for url whose waits are recorded instead of slept.
func newTestClient(t testing.TB, url string, configure ...func(*Config)) (*Client, *sleepRecorder) {
	t.Helper()
	cfg := Config{ServiceURL: url, APIKey: testAPIKey}
	for _, f := range configure {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &sleepRecorder{}
	c.sleep = rec.sleep
	return c, rec
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string, details map[string]any) {
	e := map[string]any{"code": code, "message": message}
	if details != nil {
		e["details"] = details
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// viewJSON is a server RequestView.
func viewJSON(id string, status MPAStatus, satisfied []string, expiresAt time.Time) map[string]any {
	if satisfied == nil {
		satisfied = []string{}
	}
	v := map[string]any{
		"request_id":       id,
		"status":           status,
		"groups_required":  2,
		"groups_total":     3,
		"groups_satisfied": satisfied,
		"expires_at":       expiresAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		"created_at":       time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"action":           map[string]any{"type": "cold_boot", "description": "Cold boot engine ENG-001", "params": map[string]any{"engine_id": "ENG-001"}},
	}
	if status != StatusPending {
		v["completed_at"] = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return v
}

const testRequestID = "7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f"
