package sigil

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// expiryGrace: a poll is placed this long after a request's expires_at, when the server
// reports the timeout.
const expiryGrace = 100 * time.Millisecond

// MPAService creates and follows multi-party approval requests. Use it as client.MPA.
type MPAService struct{ c *Client }

// Request creates an MPA request and returns it as created (status pending).
//
// The request is first checked with [ValidateMPARequest], so a malformed one fails with a
// [*ValidationError] carrying the server's message and nothing is sent. The call is retried
// on network errors, 429 and 5xx with one Idempotency-Key for all attempts (req.IdempotencyKey,
// or a random UUID), so at most one request is created per call.
func (s *MPAService) Request(ctx context.Context, req MPARequest) (*MPARequestView, error) {
	if err := ValidateMPARequest(req); err != nil {
		return nil, err
	}
	key := req.IdempotencyKey
	if key == "" {
		var err error
		if key, err = newUUID(); err != nil {
			return nil, err
		}
	} else if !isVisibleASCII(key, 255) {
		return nil, &ValidationError{Message: "Idempotency-Key must be 1-255 printable ASCII characters"}
	}
	var out MPARequestView
	err := s.c.do(ctx, call{method: http.MethodPost, path: "/v1/mpa/requests", body: req, idempotent: true, idempotencyKey: key}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns the current state of a request. A pending request past its expiry is reported
// with status timeout.
func (s *MPAService) Get(ctx context.Context, requestID string) (*MPARequestView, error) {
	view, _, err := s.get(ctx, requestID)
	return view, err
}

func (s *MPAService) get(ctx context.Context, requestID string) (*MPARequestView, bool, error) {
	path, err := requestPath(requestID)
	if err != nil {
		return nil, false, err
	}
	var out MPARequestView
	cut, err := s.c.send(ctx, call{method: http.MethodGet, path: path, idempotent: true}, &out)
	if err != nil {
		return nil, cut, err
	}
	return &out, false, nil
}

// List returns one page of requests, newest first. Pass the page's NextCursor as
// opts.Cursor for the next one.
func (s *MPAService) List(ctx context.Context, opts ListOptions) (*MPAList, error) {
	if opts.Limit != 0 && (opts.Limit < 1 || opts.Limit > 100) {
		return nil, &ValidationError{Message: "limit must be an integer from 1 to 100"}
	}
	query := url.Values{}
	if opts.Status != "" {
		query.Set("status", string(opts.Status))
	}
	if opts.Limit != 0 {
		query.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		query.Set("cursor", opts.Cursor)
	}
	var out MPAList
	if err := s.c.do(ctx, call{method: http.MethodGet, path: "/v1/mpa/requests", query: query, idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Cancel cancels a pending request and returns it with status cancelled. Cancelling a
// request that has already finished fails with an [*APIError] with status 409, code
// "request_completed" and Details["status"] naming its final status.
func (s *MPAService) Cancel(ctx context.Context, requestID string) (*MPARequestView, error) {
	path, err := requestPath(requestID)
	if err != nil {
		return nil, err
	}
	var out MPARequestView
	err = s.c.do(ctx, call{method: http.MethodPost, path: path + "/cancel", idempotent: true}, &out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusConflict && apiErr.Attempts > 1 && apiErr.Details["status"] == string(StatusCancelled) {
		// A retry after an attempt whose response was lost: that attempt's cancel took effect.
		return s.Get(ctx, requestID)
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AwaitResult polls a request until it is no longer pending and returns it: approved,
// rejected, timeout (the request expired) or cancelled. Only a caller's deadline ends the wait
// early: when ctx's deadline (or opts.Timeout) passes first, it returns an
// [*AwaitTimeoutError] (errors.Is(err, ErrAwaitTimeout) and errors.Is(err,
// context.DeadlineExceeded) both hold); when ctx is cancelled, the context's error (wrapped).
// Other errors, such as a 404 or failures that outlast the retries, are returned as they are.
//
// Polls are opts.PollInterval apart (default 3 s), and one is placed just after the request's
// expires_at, so that an expired request is reported promptly.
func (s *MPAService) AwaitResult(ctx context.Context, requestID string, opts AwaitOptions) (*MPARequestView, error) {
	interval := opts.PollInterval
	if interval == 0 {
		interval = DefaultPollInterval
	} else if interval < 0 {
		return nil, &ConfigError{Code: "invalid_config", Message: "AwaitResult: PollInterval must be positive (zero means 3 s)"}
	}
	if opts.Timeout < 0 {
		return nil, &ConfigError{Code: "invalid_config", Message: "AwaitResult: Timeout must not be negative (zero means no timeout of its own)"}
	}
	if _, err := requestPath(requestID); err != nil {
		return nil, err
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	var last *MPARequestView
	ended := func(cause error) error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &AwaitTimeoutError{RequestID: requestID, LastSeen: last, Err: cause}
		}
		return cause
	}
	for {
		view, cut, err := s.get(ctx, requestID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ended(err)
			}
			if cut && isTransient(err) {
				// Transient failures that outlast the deadline are the deadline's fault.
				return nil, &AwaitTimeoutError{RequestID: requestID, LastSeen: last, Err: err}
			}
			return nil, err
		}
		last = view
		if view.Status != StatusPending {
			return view, nil
		}
		wait := interval
		if untilExpiry := time.Until(view.ExpiresAt); untilExpiry > 0 && untilExpiry+expiryGrace < wait {
			wait = untilExpiry + expiryGrace
		}
		if err := s.c.sleep(ctx, wait); err != nil {
			return nil, ended(contextError(call{method: http.MethodGet, path: "/v1/mpa/requests/" + url.PathEscape(requestID)}, err))
		}
	}
}

func requestPath(requestID string) (string, error) {
	if requestID == "" {
		return "", &ValidationError{Message: "request_id is required"}
	}
	return "/v1/mpa/requests/" + url.PathEscape(requestID), nil
}

func isTransient(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusTooManyRequests || apiErr.Status >= 500
	}
	return errors.Is(err, ErrNetwork)
}
