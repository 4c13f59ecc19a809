package sigil

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Version is the SDK version, sent in the User-Agent header.
const Version = "0.1.0"

// Defaults used when the corresponding Config field is zero.
const (
	// DefaultMaxRetries is how many times a failed call is retried after the first attempt.
	DefaultMaxRetries = 3
	// DefaultTimeout bounds each HTTP attempt (connect, send, response).
	DefaultTimeout = 30 * time.Second
	// DefaultPollInterval is the time between polls in [MPAService.AwaitResult].
	DefaultPollInterval = 3 * time.Second
)

// Config configures a [Client].
type Config struct {
	// ServiceURL is the base URL of your Sigil service, e.g. "https://sigil.example.com"; a
	// path prefix is kept. Plain http is refused except to loopback hosts (localhost,
	// 127.0.0.0/8, ::1), because it would send the API key in clear text.
	ServiceURL string
	// APIKey is your sgk_... key; when empty, the SIGIL_API_KEY environment variable is used.
	APIKey string
	// HTTPClient sends the requests; nil means a client using http.DefaultTransport. The SDK
	// uses a copy that does not follow redirects; the original is not modified.
	HTTPClient *http.Client
	// MaxRetries is how many times a call is retried after network errors, 429 and 5xx
	// responses; zero means DefaultMaxRetries (3) and a negative value disables retries.
	MaxRetries int
	// Timeout bounds each HTTP attempt; zero means DefaultTimeout (30 s). The context of a
	// call bounds the whole call, retries and waits included.
	Timeout time.Duration
}

// Client is a Sigil API client. It is safe for concurrent use.
type Client struct {
	// MPA creates, reads, lists, awaits and cancels multi-party approval requests.
	MPA *MPAService
	// Pairings opens pairing codes for approver devices and reports their state.
	Pairings *PairingsService
	// Devices lists and revokes paired approver devices.
	Devices *DevicesService
	// Teams manages approval teams, which a request's group can name instead of listing approvers.
	Teams *TeamsService
	// Overrides records emergency overrides (break glass) and lists them with their review.
	Overrides *OverridesService

	serviceURL string
	// Behind a pointer so that printing a Client with %v never shows the key.
	creds      *credentials
	httpClient *http.Client
	maxRetries int
	timeout    time.Duration
	userAgent  string

	// Hooks for tests: the backoff base and the sleep between attempts.
	backoffBase time.Duration
	sleep       func(ctx context.Context, d time.Duration) error
}

type credentials struct{ apiKey string }

// New returns a client for the service at cfg.ServiceURL. It fails with a [*ConfigError]
// when the URL is unusable or insecure, or when there is no API key.
func New(cfg Config) (*Client, error) {
	base, err := normaliseServiceURL(cfg.ServiceURL)
	if err != nil {
		return nil, err
	}
	apiKey := cfg.APIKey
	if apiKey == "" {
		apiKey = os.Getenv("SIGIL_API_KEY")
	}
	if apiKey == "" {
		return nil, &ConfigError{Code: "missing_api_key", Message: "No Sigil API key: set APIKey in sigil.Config or the SIGIL_API_KEY environment variable"}
	}
	if !isVisibleASCII(apiKey, 1<<16) {
		return nil, &ConfigError{Code: "invalid_api_key", Message: "The Sigil API key must be printable ASCII without spaces (sgk_...)"}
	}
	maxRetries := cfg.MaxRetries
	if maxRetries == 0 {
		maxRetries = DefaultMaxRetries
	} else if maxRetries < 0 {
		maxRetries = 0
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	} else if timeout < 0 {
		return nil, &ConfigError{Code: "invalid_config", Message: "Timeout must be positive (zero means the default of 30 s)"}
	}
	var hc http.Client
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	// A redirect is reported as an error: following it could change the method or send the
	// request somewhere the API key was not meant to go.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{
		serviceURL:  base,
		creds:       &credentials{apiKey: apiKey},
		httpClient:  &hc,
		maxRetries:  maxRetries,
		timeout:     timeout,
		userAgent:   userAgent(),
		backoffBase: backoffBase,
		sleep:       sleepContext,
	}
	c.MPA = &MPAService{c: c}
	c.Pairings = &PairingsService{c: c}
	c.Devices = &DevicesService{c: c}
	c.Teams = &TeamsService{c: c}
	c.Overrides = &OverridesService{c: c}
	return c, nil
}

// ServiceURL returns the normalised service URL, without a trailing slash.
func (c *Client) ServiceURL() string { return c.serviceURL }

// String describes the client without its API key.
func (c *Client) String() string { return "sigil.Client(" + c.serviceURL + ")" }

// GoString describes the client without its API key.
func (c *Client) GoString() string { return "&sigil.Client{ServiceURL: " + `"` + c.serviceURL + `"}` }

// normaliseServiceURL checks the service URL and strips trailing slashes. Plain http is
// refused except to loopback hosts.
func normaliseServiceURL(raw string) (string, error) {
	if raw == "" {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL is required, e.g. https://sigil.example.com"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL is not a valid URL: " + raw}
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL must be https (got " + u.Scheme + ":)"}
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL is not a valid URL: " + raw}
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return "", &ConfigError{
			Code: "insecure_service_url",
			Message: "ServiceURL must use https: plain http would send the API key in clear text to " + u.Hostname() +
				" (http is allowed only for localhost, 127.0.0.0/8 and ::1)",
		}
	}
	if u.User != nil {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL must not contain credentials; use APIKey"}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", &ConfigError{Code: "invalid_config", Message: "ServiceURL must not have a query or fragment"}
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// isLoopbackHost reports whether host (without brackets) is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isVisibleASCII reports whether s is 1 to max characters of printable ASCII without spaces.
func isVisibleASCII(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
