package sigil

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRequiresAnAPIKey(t *testing.T) {
	t.Setenv("SIGIL_API_KEY", "")
	_, err := New(Config{ServiceURL: "https://sigil.example.com"})
	var cfgErr *ConfigError
	if !errors.As(err, &cfgErr) || cfgErr.Code != "missing_api_key" || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "SIGIL_API_KEY") {
		t.Fatalf("the message should name SIGIL_API_KEY: %v", err)
	}
	_, err = New(Config{ServiceURL: "https://sigil.example.com", APIKey: "sgk_live with space"})
	if !errors.As(err, &cfgErr) || cfgErr.Code != "invalid_api_key" {
		t.Fatalf("got %v", err)
	}
}

func TestAPIKeyDefaultsToEnvironmentAndIsSentAsBearer(t *testing.T) {
	t.Setenv("SIGIL_API_KEY", "sgk_live_fromenv")
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	c, err := New(Config{ServiceURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := srv.recorded()[0]
	if got := req.Header.Get("Authorization"); got != "Bearer sgk_live_fromenv" {
		t.Fatalf("Authorization = %q", got)
	}
	if got := req.Header.Get("Accept"); got != "application/json" {
		t.Fatalf("Accept = %q", got)
	}
	if got := req.Header.Get("User-Agent"); !strings.HasPrefix(got, "sigil-sdk-go/"+Version+" go") {
		t.Fatalf("User-Agent = %q", got)
	}
	// An explicit key wins over the environment.
	c2, _ := New(Config{ServiceURL: srv.URL, APIKey: "sgk_live_explicit"})
	_, _ = c2.Devices.List(context.Background())
	if got := srv.recorded()[1].Header.Get("Authorization"); got != "Bearer sgk_live_explicit" {
		t.Fatalf("Authorization = %q", got)
	}
}

func TestPlainHTTPIsRefusedExceptToLoopback(t *testing.T) {
	for _, u := range []string{"http://sigil.example.com", "http://10.0.0.1:8080", "http://localhost.example.com", "http://[fe80::1]/"} {
		_, err := New(Config{ServiceURL: u, APIKey: testAPIKey})
		var cfgErr *ConfigError
		if !errors.As(err, &cfgErr) || cfgErr.Code != "insecure_service_url" || !strings.Contains(err.Error(), "https") {
			t.Errorf("%s: got %v", u, err)
		}
	}
	for _, u := range []string{"http://localhost:3000", "http://LOCALHOST", "http://127.0.0.1:8080", "http://127.1.2.3", "http://[::1]:9000", "https://sigil.example.com", "https://10.0.0.1"} {
		if _, err := New(Config{ServiceURL: u, APIKey: testAPIKey}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestMalformedServiceURLsAndOptionsAreRefused(t *testing.T) {
	for _, u := range []string{"", "sigil.example.com", "ftp://sigil.example.com", "https://", "https://user:pass@sigil.example.com", "https://sigil.example.com/?x=1", "https://sigil.example.com/#frag", "https://sigil.example.com/?", "mailto:a@b"} {
		if _, err := New(Config{ServiceURL: u, APIKey: testAPIKey}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%q: got %v", u, err)
		}
	}
	if _, err := New(Config{ServiceURL: "https://x.example", APIKey: testAPIKey, Timeout: -time.Second}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative timeout: %v", err)
	}
}

func TestPathPrefixIsKeptAndTrailingSlashDropped(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	c, _ := newTestClient(t, srv.URL+"/sigil//")
	if c.ServiceURL() != srv.URL+"/sigil" {
		t.Fatalf("ServiceURL() = %q", c.ServiceURL())
	}
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := srv.recorded()[0].Path; got != "/sigil/v1/devices" {
		t.Fatalf("path = %q", got)
	}
}

func TestPrintingAClientNeverShowsTheKey(t *testing.T) {
	c, _ := newTestClient(t, "https://sigil.example.com")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%v", c.MPA)} {
		if strings.Contains(s, testAPIKey) {
			t.Fatalf("the API key leaked: %s", s)
		}
	}
}

func TestTheCallersHTTPClientIsUsedButNotModified(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 200, map[string]any{"data": []any{}})
	})
	used := false
	hc := &http.Client{Transport: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, _ := newTestClient(t, srv.URL, func(cfg *Config) { cfg.HTTPClient = hc })
	if _, err := c.Devices.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !used || hc.CheckRedirect != nil {
		t.Fatalf("used=%v, CheckRedirect modified=%v", used, hc.CheckRedirect != nil)
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
