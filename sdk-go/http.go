package sigil

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// backoffBase is the first retry's backoff cap; it doubles per attempt up to backoffCap.
	backoffBase = 200 * time.Millisecond
	backoffCap  = 5 * time.Second
	// maxRetryAfter: a longer Retry-After is not waited for; the error is returned at once
	// (its RetryAfter field says how long the server asked for).
	maxRetryAfter = 60 * time.Second
	// maxResponseBytes bounds how much of a response body is read.
	maxResponseBytes = 16 << 20
)

// call is one API call: what to send and whether repeating it is harmless.
type call struct {
	method, path string
	query        url.Values
	body         any
	// idempotent: repeating the request is harmless (GET, DELETE, cancel, a POST with an
	// Idempotency-Key). Otherwise only failures that prove the server never acted on the
	// request are retried: 429 and refused connections.
	idempotent     bool
	idempotencyKey string
	// once: a single attempt, never retried (an emergency override must not be recorded twice,
	// nor wait out a daily limit).
	once bool
}

type attemptResult struct {
	err           error
	retryable     bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

func userAgent() string { return "sigil-sdk-go/" + Version + " " + runtime.Version() }

// do performs a call with retries and decodes a 2xx JSON body into out (when out is not nil).
func (c *Client) do(ctx context.Context, req call, out any) error {
	_, err := c.send(ctx, req, out)
	return err
}

// send is do that also reports whether a retryable failure was returned early because the
// next retry would have been scheduled past the context's deadline.
func (c *Client) send(ctx context.Context, req call, out any) (cutByDeadline bool, err error) {
	var payload []byte
	if req.body != nil {
		payload, err = json.Marshal(req.body)
		if err != nil {
			return false, fmt.Errorf("sigil: %s %s: encoding the request body: %w", req.method, req.path, err)
		}
	}
	target := c.serviceURL + req.path
	if len(req.query) > 0 {
		target += "?" + req.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return false, contextError(req, err)
		}
		r := c.attempt(ctx, req, target, payload, attempt, out)
		if r.err == nil {
			return false, nil
		}
		if !r.retryable || req.once || attempt > c.maxRetries {
			return false, r.err
		}
		delay := c.backoff(attempt)
		if r.hasRetryAfter {
			if r.retryAfter > maxRetryAfter {
				return false, r.err
			}
			delay = r.retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && !time.Now().Add(delay).Before(deadline) {
			return true, r.err
		}
		if err := c.sleep(ctx, delay); err != nil {
			return false, contextError(req, err)
		}
	}
}

// attempt makes one HTTP attempt. The body is rebuilt from payload every time.
func (c *Client) attempt(ctx context.Context, req call, target string, payload []byte, attempt int, out any) attemptResult {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hreq, err := http.NewRequestWithContext(actx, req.method, target, body)
	if err != nil {
		return attemptResult{err: fmt.Errorf("sigil: %s %s: %w", req.method, req.path, err)}
	}
	hreq.Header.Set("Authorization", "Bearer "+c.creds.apiKey)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.idempotencyKey != "" {
		hreq.Header.Set("Idempotency-Key", req.idempotencyKey)
	}

	resp, err := c.httpClient.Do(hreq)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
		resp.Body.Close()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return attemptResult{err: contextError(req, ctxErr)}
		}
		return attemptResult{
			err: &NetworkError{
				Method:   req.method,
				Path:     req.path,
				Attempts: attempt,
				Timeout:  errors.Is(actx.Err(), context.DeadlineExceeded) || isTimeout(err),
				Err:      err,
			},
			retryable: req.idempotent || errors.Is(err, syscall.ECONNREFUSED),
		}
	}

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if len(data) > maxResponseBytes {
			return attemptResult{err: &APIError{Status: resp.StatusCode, Code: "invalid_response", Message: req.method + " " + req.path + ": the server's response is too large", Method: req.method, Path: req.path, Attempts: attempt}}
		}
		if out == nil || len(bytes.TrimSpace(data)) == 0 {
			return attemptResult{}
		}
		if err := json.Unmarshal(data, out); err != nil {
			return attemptResult{err: &APIError{
				Status: resp.StatusCode, Code: "invalid_response",
				Message: req.method + " " + req.path + ": the server's response is not the expected JSON: " + err.Error(),
				Method:  req.method, Path: req.path, Attempts: attempt,
			}}
		}
		return attemptResult{}
	}

	retryAfter, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	apiErr := newAPIError(req, resp, data, attempt)
	if hasRetryAfter {
		apiErr.RetryAfter = retryAfter
	}
	return attemptResult{
		err:           apiErr,
		retryable:     resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode >= 500 && req.idempotent),
		retryAfter:    retryAfter,
		hasRetryAfter: hasRetryAfter,
	}
}

// newAPIError maps an error response; a body that is not the error envelope (a proxy's error
// page, say) keeps a generic message.
func newAPIError(req call, resp *http.Response, data []byte, attempt int) *APIError {
	e := &APIError{
		Status:   resp.StatusCode,
		Code:     "http_" + strconv.Itoa(resp.StatusCode),
		Message:  req.method + " " + req.path + ": HTTP " + resp.Status,
		Method:   req.method,
		Path:     req.path,
		Attempts: attempt,
	}
	var envelope struct {
		Error *struct {
			Code    any `json:"code"`
			Message any `json:"message"`
			Details any `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &envelope) == nil && envelope.Error != nil {
		if code, ok := envelope.Error.Code.(string); ok {
			e.Code = code
		}
		if message, ok := envelope.Error.Message.(string); ok {
			e.Message = message
		}
		if details, ok := envelope.Error.Details.(map[string]any); ok {
			e.Details = details
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		location := resp.Header.Get("Location")
		if location == "" {
			location = "nowhere"
		}
		e.Code = "unexpected_redirect"
		e.Message = fmt.Sprintf("%s %s: unexpected redirect (HTTP %d) to %s; check ServiceURL", req.method, req.path, resp.StatusCode, location)
	}
	return e
}

// contextError wraps the context's error so that errors.Is(err, context.Canceled) and
// errors.Is(err, context.DeadlineExceeded) work.
func contextError(req call, err error) error {
	return fmt.Errorf("sigil: %s %s: %w", req.method, req.path, err)
}

// parseRetryAfter reads Retry-After as delta-seconds or an HTTP-date.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(value)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(maxRetryAfter/time.Second)*1000 {
			// Absurdly long: longer than anything we would wait for.
			return 1000 * maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	// Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with a day name.
	if len(v) < 3 || !isLetters(v[:3]) {
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// backoff is exponential backoff with full jitter: uniform in [0, min(cap, base*2^(attempt-1))].
func (c *Client) backoff(attempt int) time.Duration {
	limit := backoffCap
	if attempt < 30 {
		if d := c.backoffBase << (attempt - 1); d < limit {
			limit = d
		}
	}
	return time.Duration(randomFloat() * float64(limit))
}

// randomFloat is uniform in [0, 1), from crypto/rand so that no seeding is needed.
func randomFloat() float64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0.5
	}
	return float64(binary.BigEndian.Uint64(b[:])>>11) / (1 << 53)
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// newUUID returns a random (version 4) UUID from crypto/rand.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("sigil: generating an idempotency key: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// isTimeout reports a transport timeout, such as the caller's http.Client.Timeout.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
