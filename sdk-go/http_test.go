package sigil

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

func TestRetriesServerErrorsUntilSuccess(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n < 3 {
			writeError(w, 503, "unavailable", "storage is unavailable; retry shortly", nil)
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	c, sleeps := newTestClient(t, srv.URL)
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.count() != 3 || len(sleeps.recorded()) != 2 {
		t.Fatalf("attempts = %d, waits = %v", srv.count(), sleeps.recorded())
	}
	// Full jitter under an exponential cap: 200 ms, then 400 ms.
	for i, d := range sleeps.recorded() {
		if limit := backoffBase << i; d < 0 || d > limit {
			t.Fatalf("wait %d = %v, want within [0, %v]", i+1, d, limit)
		}
	}
}

func TestGivesUpAfterMaxRetriesWithTheLastError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeError(w, 500, "internal_error", "internal server error "+strconv.Itoa(n), nil)
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.Devices.List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v", err)
	}
	if srv.count() != 1+DefaultMaxRetries || apiErr.Attempts != 4 || apiErr.Status != 500 || apiErr.Code != "internal_error" || apiErr.Message != "internal server error 4" {
		t.Fatalf("attempts=%d err=%+v", srv.count(), apiErr)
	}

	// MaxRetries: -1 disables retries; a positive value sets them.
	c, _ = newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxRetries = -1 })
	before := srv.count()
	_, _ = c.Devices.List(context.Background())
	if srv.count()-before != 1 {
		t.Fatalf("MaxRetries -1 made %d attempts", srv.count()-before)
	}
	c, _ = newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxRetries = 1 })
	before = srv.count()
	_, _ = c.Devices.List(context.Background())
	if srv.count()-before != 2 {
		t.Fatalf("MaxRetries 1 made %d attempts", srv.count()-before)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "7")
			writeError(w, 429, "rate_limited", "Rate limit exceeded", nil)
		case 2:
			w.Header().Set("Retry-After", "0")
			writeError(w, 503, "unavailable", "busy", nil)
		case 3:
			w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
			writeError(w, 503, "unavailable", "busy", nil)
		default:
			writeJSON(w, 200, map[string]any{"data": []any{}})
		}
	})
	c, sleeps := newTestClient(t, srv.URL)
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sleeps.recorded()
	if len(got) != 3 || got[0] != 7*time.Second || got[1] != 0 || got[2] < 28*time.Second || got[2] > 30*time.Second {
		t.Fatalf("waits = %v, want [7s 0s ~30s]", got)
	}
}

func TestRetryAfterIsReallyWaitedFor(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			writeError(w, 429, "rate_limited", "slow down", nil)
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey}) // the real sleep
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second || elapsed > 5*time.Second {
		t.Fatalf("took %v, want about 1 s", elapsed)
	}
}

func TestALongRetryAfterIsNotWaitedFor(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		w.Header().Set("Retry-After", "3600")
		writeError(w, 429, "rate_limited", "come back later", nil)
	})
	c, sleeps := newTestClient(t, srv.URL)
	_, err := c.Devices.List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Hour || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("got %v", err)
	}
	if srv.count() != 1 || len(sleeps.recorded()) != 0 {
		t.Fatalf("attempts=%d waits=%v", srv.count(), sleeps.recorded())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 4, 24, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{" 0 ", 0, true},
		{"Fri, 24 Apr 2026 10:00:30 GMT", 30 * time.Second, true},
		{"Friday, 24-Apr-26 10:00:10 GMT", 10 * time.Second, true},
		{"Fri Apr 24 10:00:05 2026", 5 * time.Second, true},
		{"Fri, 24 Apr 2026 09:00:00 GMT", 0, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999999", 1000 * maxRetryAfter, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsFullJitterUnderAnExponentialCap(t *testing.T) {
	c, _ := newTestClient(t, "https://sigil.example.com")
	for attempt := 1; attempt <= 40; attempt++ {
		limit := backoffCap
		if attempt < 10 && backoffBase<<(attempt-1) < limit {
			limit = backoffBase << (attempt - 1)
		}
		distinct := map[time.Duration]bool{}
		for i := 0; i < 50; i++ {
			d := c.backoff(attempt)
			if d < 0 || d > limit {
				t.Fatalf("backoff(%d) = %v, want within [0, %v]", attempt, d, limit)
			}
			distinct[d] = true
		}
		if len(distinct) < 10 {
			t.Fatalf("backoff(%d) is not jittered: %v", attempt, distinct)
		}
	}
}

func TestBadRequestIsNotRetriedAndCarriesTheServerError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeError(w, 400, "invalid_request", "Invalid MPA request: device abc is not paired with this organisation", map[string]any{"field": "groups"})
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.MPA.Request(context.Background(), guideRequest(t))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v", err)
	}
	if srv.count() != 1 || apiErr.Status != 400 || apiErr.Code != "invalid_request" || apiErr.Attempts != 1 ||
		apiErr.Message != "Invalid MPA request: device abc is not paired with this organisation" || apiErr.Details["field"] != "groups" ||
		apiErr.Method != "POST" || apiErr.Path != "/v1/mpa/requests" {
		t.Fatalf("attempts=%d err=%+v", srv.count(), apiErr)
	}
	if !errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrNotFound) {
		t.Fatal("a server-side invalid_request must match ErrInvalidRequest (only)")
	}
}

func TestOtherClientErrorsAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		status   int
		code     string
		sentinel error
	}{
		{401, "unauthorized", ErrUnauthorized},
		{404, "not_found", ErrNotFound},
		{409, "request_completed", nil},
		{413, "payload_too_large", nil},
	} {
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
			writeError(w, tc.status, tc.code, "nope", nil)
		})
		c, _ := newTestClient(t, srv.URL)
		_, err := c.MPA.Get(context.Background(), testRequestID)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tc.status || apiErr.Code != tc.code || srv.count() != 1 {
			t.Errorf("%d: attempts=%d err=%v", tc.status, srv.count(), err)
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("%d should match %v", tc.status, tc.sentinel)
		}
	}
}

func TestANonJSONErrorBodyStillGivesAnAPIError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
	})
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxRetries = -1 })
	_, err := c.Devices.List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "http_502" || apiErr.Message != "GET /v1/devices: HTTP 502 Bad Gateway" {
		t.Fatalf("got %#v", err)
	}
}

func TestANonJSONSuccessBodyIsAnError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		_, _ = w.Write([]byte("<html>captive portal</html>"))
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.Devices.List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "invalid_response" || srv.count() != 1 {
		t.Fatalf("got %v", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	followed := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		http.Redirect(w, r, followed.URL+"/v1/devices", http.StatusFound)
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.Devices.List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "unexpected_redirect" || apiErr.Status != 302 {
		t.Fatalf("got %v", err)
	}
	if followed.count() != 0 || srv.count() != 1 {
		t.Fatalf("the redirect was followed or retried: %d, %d", followed.count(), srv.count())
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestOneCreateKeepsItsIdempotencyKeyAndBodyAcrossRetries(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		switch n {
		case 1:
			writeError(w, 503, "unavailable", "retry", nil)
		case 2:
			w.Header().Set("Retry-After", "1")
			writeError(w, 429, "rate_limited", "retry", nil)
		case 3:
			// The connection drops after the server may have acted: safe to retry thanks to the key.
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			writeJSON(w, 201, viewJSON(testRequestID, StatusPending, nil, time.Now().Add(10*time.Minute)))
		}
	})
	c, _ := newTestClient(t, srv.URL)
	req := guideRequest(t)
	view, err := c.MPA.Request(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if view.RequestID != testRequestID || view.Status != StatusPending || view.GroupsRequired != 2 || view.GroupsTotal != 3 {
		t.Fatalf("view = %+v", view)
	}
	reqs := srv.recorded()
	if len(reqs) != 4 {
		t.Fatalf("attempts = %d, want 4", len(reqs))
	}
	key := reqs[0].Header.Get("Idempotency-Key")
	if !uuidV4.MatchString(key) {
		t.Fatalf("Idempotency-Key %q is not a v4 UUID", key)
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/v1/mpa/requests" {
			t.Fatalf("attempt %d: %s %s", i+1, r.Method, r.Path)
		}
		if got := r.Header.Get("Idempotency-Key"); got != key {
			t.Fatalf("attempt %d used Idempotency-Key %q, want %q", i+1, got, key)
		}
		if len(r.Body) == 0 || !bytes.Equal(r.Body, reqs[0].Body) {
			t.Fatalf("attempt %d sent body %q, want %q", i+1, r.Body, reqs[0].Body)
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("attempt %d: Content-Type %q", i+1, r.Header.Get("Content-Type"))
		}
	}

	// Another call gets another key.
	if _, err := c.MPA.Request(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if other := srv.recorded()[4].Header.Get("Idempotency-Key"); other == key || !uuidV4.MatchString(other) {
		t.Fatalf("second call reused or mangled the key: %q", other)
	}
}

func TestACallersIdempotencyKeyIsSentAsIs(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 201, viewJSON(testRequestID, StatusPending, nil, time.Now().Add(time.Minute)))
	})
	c, _ := newTestClient(t, srv.URL)
	req := guideRequest(t)
	req.IdempotencyKey = "job-42:cold-boot"
	if _, err := c.MPA.Request(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	r := srv.recorded()[0]
	if got := r.Header.Get("Idempotency-Key"); got != "job-42:cold-boot" {
		t.Fatalf("Idempotency-Key = %q", got)
	}
	if bytes.Contains(r.Body, []byte("job-42")) || bytes.Contains(r.Body, []byte("IdempotencyKey")) {
		t.Fatalf("the key leaked into the body: %s", r.Body)
	}
	req.IdempotencyKey = "has space"
	_, err := c.MPA.Request(context.Background(), req)
	var vErr *ValidationError
	if !errors.As(err, &vErr) || vErr.Message != "Idempotency-Key must be 1-255 printable ASCII characters" || srv.count() != 1 {
		t.Fatalf("got %v after %d requests", err, srv.count())
	}
}

func TestAPairingCreateIsRetriedOn429ButNotOn503(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n == 1 {
			writeError(w, 429, "rate_limited", "slow down", nil)
			return
		}
		writeError(w, 503, "unavailable", "busy", nil)
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.Pairings.Create(context.Background(), PairingOptions{Name: "Alice"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || srv.count() != 2 || apiErr.Attempts != 2 {
		t.Fatalf("attempts=%d err=%v", srv.count(), err)
	}
	for _, r := range srv.recorded() {
		if r.Header.Get("Idempotency-Key") != "" || string(r.Body) != `{"name":"Alice"}` {
			t.Fatalf("pairing request: key %q body %s", r.Header.Get("Idempotency-Key"), r.Body)
		}
	}
}

func TestDroppedConnectionsBecomeANetworkErrorAfterAllRetries(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	})
	c, sleeps := newTestClient(t, srv.URL)
	_, err := c.Devices.List(context.Background())
	var netErr *NetworkError
	if !errors.As(err, &netErr) || !errors.Is(err, ErrNetwork) || netErr.Attempts != 4 || netErr.Timeout {
		t.Fatalf("got %#v", err)
	}
	if len(sleeps.recorded()) != 3 {
		t.Fatalf("waits = %v", sleeps.recorded())
	}
	// A pairing (no idempotency key) is not retried after a dropped connection: the server may
	// have opened it.
	before := srv.count()
	_, err = c.Pairings.Create(context.Background(), PairingOptions{})
	if !errors.As(err, &netErr) || srv.count()-before != 1 {
		t.Fatalf("attempts=%d err=%v", srv.count()-before, err)
	}
}

func TestARefusedConnectionIsRetriedEvenForAPairing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, sleeps := newTestClient(t, "http://"+addr)
	_, err = c.Pairings.Create(context.Background(), PairingOptions{Name: "x"})
	var netErr *NetworkError
	if !errors.As(err, &netErr) || netErr.Attempts != 4 || len(sleeps.recorded()) != 3 {
		t.Fatalf("got %v, waits %v", err, sleeps.recorded())
	}
}

func TestThePerAttemptTimeoutAbortsAHungRequestWhichIsRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n == 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
	start := time.Now()
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if srv.count() != 2 || time.Since(start) > 3*time.Second {
		t.Fatalf("attempts=%d took %v", srv.count(), time.Since(start))
	}

	// With retries off, the timeout is reported as such.
	srvHang := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	c, _ = newTestClient(t, srvHang.URL, func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond; cfg.MaxRetries = -1 })
	_, err := c.Devices.List(context.Background())
	var netErr *NetworkError
	if !errors.As(err, &netErr) || !netErr.Timeout {
		t.Fatalf("got %v", err)
	}
}

func TestTheContextStopsTheCallAndItsRetries(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		w.Header().Set("Retry-After", "30")
		writeError(w, 503, "unavailable", "busy", nil)
	})
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey}) // real sleeps: the retry would wait 30 s
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for srv.count() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err = c.Devices.List(ctx)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 3*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	if srv.count() != 1 {
		t.Fatalf("attempts = %d", srv.count())
	}

	// A call with an already cancelled context sends nothing.
	before := srv.count()
	if _, err := c.Devices.List(ctx); !errors.Is(err, context.Canceled) || srv.count() != before {
		t.Fatalf("got %v", err)
	}
}

func TestARetryThatWouldPassTheDeadlineIsNotScheduled(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		w.Header().Set("Retry-After", "30")
		writeError(w, 503, "unavailable", "busy", nil)
	})
	c, sleeps := newTestClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.Devices.List(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || srv.count() != 1 || len(sleeps.recorded()) != 0 {
		t.Fatalf("got %v, attempts %d, waits %v", err, srv.count(), sleeps.recorded())
	}
}
