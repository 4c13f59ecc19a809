package sigil

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type validationCase struct {
	name   string
	mutate func(r *MPARequest)
	want   string
}

func validationCases(t *testing.T) []validationCase {
	other := newTestKey(t)
	return []validationCase{
		{"required zero", func(r *MPARequest) { r.Required = 0 }, "Invalid MPA request: required must be an integer of at least 1"},
		{"required negative", func(r *MPARequest) { r.Required = -2 }, "Invalid MPA request: required must be an integer of at least 1"},
		{"no groups", func(r *MPARequest) { r.Groups = nil }, "Invalid MPA request: groups must be a non-empty array"},
		{"empty groups", func(r *MPARequest) { r.Groups = []ApprovalGroup{} }, "Invalid MPA request: groups must be a non-empty array"},
		{"too many groups", func(r *MPARequest) {
			for len(r.Groups) <= MaxGroups {
				r.Groups = append(r.Groups, r.Groups[0])
			}
		}, "Invalid MPA request: at most 20 groups are allowed"},
		{"the guide's required 4 of 3", func(r *MPARequest) { r.Required = 4 }, "Invalid MPA request: required cannot exceed number of groups"},
		{"expires too short", func(r *MPARequest) { r.ExpiresInSeconds = 59 }, "Invalid expires_in_seconds: must be between 60 and 900"},
		{"expires too long", func(r *MPARequest) { r.ExpiresInSeconds = 901 }, "Invalid expires_in_seconds: must be between 60 and 900"},
		{"expires negative", func(r *MPARequest) { r.ExpiresInSeconds = -1 }, "Invalid expires_in_seconds: must be between 60 and 900"},
		{"required checked before expiry", func(r *MPARequest) { r.Required = 9; r.ExpiresInSeconds = 5 }, "Invalid MPA request: required cannot exceed number of groups"},
		{"group name missing", func(r *MPARequest) { r.Groups[0].Name = "" }, "Invalid MPA request: groups[0].name is required"},
		{"group name blank", func(r *MPARequest) { r.Groups[1].Name = " \t\n\u00a0\u3000\ufeff\u2028" }, "Invalid MPA request: groups[1].name is required"},
		{"group name not Unicode", func(r *MPARequest) { r.Groups[2].Name = "Ops\xff" }, "Invalid MPA request: groups[2].name is not valid Unicode"},
		{"group name too long", func(r *MPARequest) { r.Groups[1].Name = strings.Repeat("n", 101) }, "Invalid MPA request: groups[1].name must be at most 100 characters"},
		{"group name too long in UTF-16", func(r *MPARequest) { r.Groups[0].Name = strings.Repeat("😀", 50) + "x" }, "Invalid MPA request: groups[0].name must be at most 100 characters"},
		{"duplicate group name", func(r *MPARequest) { r.Groups[2].Name = "Security Team" }, `Invalid MPA request: duplicate group name "Security Team"`},
		{"group without approvers", func(r *MPARequest) { r.Groups[1].Approvers = nil }, `Invalid MPA request: group "Security Team" has no approvers`},
		{"group with too many approvers", func(r *MPARequest) {
			for len(r.Groups[2].Approvers) <= MaxApproversPerGroup {
				r.Groups[2].Approvers = append(r.Groups[2].Approvers, r.Groups[2].Approvers[0])
			}
		}, `Invalid MPA request: group "Operations" has more than 50 approvers`},
		{"fingerprint upper case", func(r *MPARequest) {
			r.Groups[0].Approvers[1].Fingerprint = strings.ToUpper(r.Groups[0].Approvers[1].Fingerprint)
		}, "Invalid MPA request: groups[0].approvers[1].fingerprint must be 64 lower-case hex characters"},
		{"fingerprint placeholder", func(r *MPARequest) { r.Groups[0].Approvers[0].Fingerprint = "abc123..." }, "Invalid MPA request: groups[0].approvers[0].fingerprint must be 64 lower-case hex characters"},
		{"public key placeholder", func(r *MPARequest) { r.Groups[2].Approvers[0].DevicePublicKey = "Ag8xYz..." }, "Invalid MPA request: groups[2].approvers[0].device_public_key must be a 33-byte compressed P-256 point in standard base64"},
		{"public key missing", func(r *MPARequest) { r.Groups[2].Approvers[1].DevicePublicKey = "" }, "Invalid MPA request: groups[2].approvers[1].device_public_key must be a 33-byte compressed P-256 point in standard base64"},
		{"public key off the curve", func(r *MPARequest) {
			r.Groups[1].Approvers[0].DevicePublicKey = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"
		}, "Invalid MPA request: groups[1].approvers[0].device_public_key is not a point on P-256"},
		{"fingerprint of another key", func(r *MPARequest) { r.Groups[1].Approvers[0].DevicePublicKey = other.publicKey }, "Invalid MPA request: fingerprint " + "%FP(1,0)%" + " does not match its device_public_key"},
		{"device twice in a group", func(r *MPARequest) { r.Groups[0].Approvers[1] = r.Groups[0].Approvers[0] }, "Invalid MPA request: device %FP(0,0)% appears twice in group \"Engineering Leads\""},
		{"device in two groups", func(r *MPARequest) { r.Groups[2].Approvers[1] = r.Groups[0].Approvers[0] }, "Invalid MPA request: device %FP(0,0)% appears in more than one group (\"Engineering Leads\" and \"Operations\")"},
		{"action type missing", func(r *MPARequest) { r.Action.Type = "" }, "Invalid MPA request: action.type is required"},
		{"action description blank", func(r *MPARequest) { r.Action.Description = "   " }, "Invalid MPA request: action.description is required"},
		{"action type too long", func(r *MPARequest) { r.Action.Type = strings.Repeat("t", 101) }, "Invalid MPA request: action.type must be at most 100 characters"},
		{"action description too long", func(r *MPARequest) { r.Action.Description = strings.Repeat("d", 1001) }, "Invalid MPA request: action.description must be at most 1000 characters"},
		{"action description not Unicode", func(r *MPARequest) { r.Action.Description = "\xc3" }, "Invalid MPA request: action.description is not valid Unicode"},
		{"groups checked before the action", func(r *MPARequest) { r.Action.Type = ""; r.Groups[2].Name = "" }, "Invalid MPA request: groups[2].name is required"},
		{"param null", func(r *MPARequest) { r.Action.Params["reason"] = nil }, "Invalid MPA request: action.params.reason must be a string, number or boolean"},
		{"param array", func(r *MPARequest) { r.Action.Params["tags"] = []string{"a"} }, "Invalid MPA request: action.params.tags must be a string, number or boolean"},
		{"param object", func(r *MPARequest) { r.Action.Params["meta"] = map[string]any{"a": 1} }, "Invalid MPA request: action.params.meta must be a string, number or boolean"},
		{"param struct", func(r *MPARequest) { r.Action.Params["when"] = struct{ A int }{1} }, "Invalid MPA request: action.params.when must be a string, number or boolean"},
		{"param NaN", func(r *MPARequest) { r.Action.Params["ratio"] = math.NaN() }, "Invalid MPA request: action.params.ratio must be a string, number or boolean"},
		{"param infinite", func(r *MPARequest) { r.Action.Params["ratio"] = math.Inf(-1) }, "Invalid MPA request: action.params.ratio must be a string, number or boolean"},
		{"param number too large for a double", func(r *MPARequest) { r.Action.Params["big"] = json.Number("1e400") }, "Invalid MPA request: action.params.big must be a string, number or boolean"},
		{"param nil pointer", func(r *MPARequest) { var s *string; r.Action.Params["p"] = s }, "Invalid MPA request: action.params.p must be a string, number or boolean"},
		{"param string not Unicode", func(r *MPARequest) { r.Action.Params["reason"] = "bad \xff byte" }, "Invalid MPA request: action.params.reason is not valid Unicode"},
		{"param key not Unicode", func(r *MPARequest) { r.Action.Params["k\xff"] = "v" }, "Invalid MPA request: action.params keys must be valid Unicode"},
		{"params in JavaScript key order: array indexes first", func(r *MPARequest) {
			r.Action.Params = map[string]any{"a": nil, "10": nil, "9": nil, "01": nil}
		}, "Invalid MPA request: action.params.9 must be a string, number or boolean"},
		{"params in JavaScript key order: then by bytes", func(r *MPARequest) {
			r.Action.Params = map[string]any{"b": nil, "a": []int{}, "01": nil}
		}, "Invalid MPA request: action.params.01 must be a string, number or boolean"},
		{"action too large", func(r *MPARequest) {
			r.Action.Params = spreadParams(strings.Repeat("x", MaxActionBytes))
		}, "Invalid MPA request: action must be at most 8192 bytes as JSON"},
		{"action too large once escaped", func(r *MPARequest) {
			r.Action.Params = spreadParams(strings.Repeat(`"`, MaxActionBytes/2))
		}, "Invalid MPA request: action must be at most 8192 bytes as JSON"},
		{"NEL is a control character", func(r *MPARequest) { r.Groups[0].Name = "\u0085" }, "Invalid MPA request: groups[0].name contains an invisible or formatting character (U+0085)"},
		{"zero-width space in the description", func(r *MPARequest) { r.Action.Description = "Cold boot\u200b engine" }, "Invalid MPA request: action.description contains an invisible or formatting character (U+200B)"},
		{"soft hyphen in the type", func(r *MPARequest) { r.Action.Type = "cold\u00adboot" }, "Invalid MPA request: action.type contains an invisible or formatting character (U+00AD)"},
		{"tag character in a param", func(r *MPARequest) { r.Action.Params["reason"] = "ok\U000E0041" }, "Invalid MPA request: action.params.reason contains an invisible or formatting character (U+E0041)"},
		{"Hangul filler in a param key", func(r *MPARequest) { r.Action.Params["note\u3164"] = "x" }, "Invalid MPA request: action.params key \"note\u3164\" contains an invisible or formatting character (U+3164)"},
		{"presentation selector after a space", func(r *MPARequest) { r.Action.Description = "a \ufe0f" }, "Invalid MPA request: action.description contains a presentation selector (U+FE0F) that follows no visible character"},
		{"too many combining marks", func(r *MPARequest) { r.Action.Description = "e" + strings.Repeat("\u0301", 5) }, "Invalid MPA request: action.description has more than 4 combining marks on one character"},
		{"more than 50 params", func(r *MPARequest) {
			r.Action.Params = map[string]any{}
			for i := 0; i < 51; i++ {
				r.Action.Params["k"+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
			}
		}, "Invalid MPA request: action.params may have at most 50 entries"},
		{"param key too long", func(r *MPARequest) { r.Action.Params[strings.Repeat("k", 101)] = 1 }, "Invalid MPA request: action.params keys must be at most 100 characters"},
		{"param value too long", func(r *MPARequest) { r.Action.Params["reason"] = strings.Repeat("r", 1001) }, "Invalid MPA request: action.params.reason must be at most 1000 characters"},
		{"labels equal but for case", func(r *MPARequest) { r.Action.Params = map[string]any{"amount": 1, "Amount": 2} }, "Invalid MPA request: action.params keys \"Amount\" and \"amount\" would look alike on the approval screen"},
		{"labels equal but for separators", func(r *MPARequest) { r.Action.Params = map[string]any{"engine_id": 1, "Engine ID": 2} }, "Invalid MPA request: action.params keys \"Engine ID\" and \"engine_id\" would look alike on the approval screen"},
		{"labels equal but for a Cyrillic letter", func(r *MPARequest) { r.Action.Params = map[string]any{"amount": 1, "\u0430mount": 2} }, "Invalid MPA request: action.params keys \"amount\" and \"\u0430mount\" would look alike on the approval screen"},
		{"a param passing for the group line", func(r *MPARequest) { r.Action.Params["your_group"] = "Security" }, "Invalid MPA request: action.params key \"your_group\" would look like the approval screen's own \"Your group\" line"},
		{"a param key with no letter", func(r *MPARequest) { r.Action.Params["--"] = "x" }, "Invalid MPA request: action.params key \"--\" has no letter or digit to label it with"},
	}
}

// expand replaces %FP(g,a)% with the fingerprint of that approver in the original request.
func expand(want string, r MPARequest) string {
	for gi, g := range r.Groups {
		for ai, a := range g.Approvers {
			want = strings.ReplaceAll(want, "%FP("+string(rune('0'+gi))+","+string(rune('0'+ai))+")%", a.Fingerprint)
		}
	}
	return want
}

func cloneRequest(r MPARequest) MPARequest {
	out := r
	out.Groups = make([]ApprovalGroup, len(r.Groups))
	for i, g := range r.Groups {
		out.Groups[i] = ApprovalGroup{Name: g.Name, Approvers: append([]Approver(nil), g.Approvers...)}
	}
	out.Action.Params = map[string]any{}
	for k, v := range r.Action.Params {
		out.Action.Params[k] = v
	}
	return out
}

func TestInvalidRequestsFailWithTheServersMessagesBeforeAnyHTTPCall(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 201, viewJSON(testRequestID, StatusPending, nil, time.Now().Add(time.Minute)))
	})
	c, _ := newTestClient(t, srv.URL)
	base := guideRequest(t)
	for _, tc := range validationCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			req := cloneRequest(base)
			tc.mutate(&req)
			want := expand(tc.want, base)
			_, err := c.MPA.Request(context.Background(), req)
			var vErr *ValidationError
			if !errors.As(err, &vErr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			if err.Error() != want || vErr.Message != want {
				t.Fatalf("message\n got: %s\nwant: %s", err.Error(), want)
			}
			if !errors.Is(err, ErrInvalidRequest) || vErr.Code() != "invalid_request" {
				t.Fatal("a validation error must match ErrInvalidRequest")
			}
			if direct := ValidateMPARequest(req); direct == nil || direct.Error() != want {
				t.Fatalf("ValidateMPARequest gave %v", direct)
			}
		})
	}
	if srv.count() != 0 {
		t.Fatalf("%d HTTP requests were sent for invalid input", srv.count())
	}
}

func TestBoundaryValuesAreAccepted(t *testing.T) {
	base := guideRequest(t)
	emoji := strings.Repeat("😀", 50) // 100 UTF-16 code units
	for name, mutate := range map[string]func(*MPARequest){
		"the guide's request":        func(r *MPARequest) {},
		"required equals the groups": func(r *MPARequest) { r.Required = 3 },
		"expires 60":                 func(r *MPARequest) { r.ExpiresInSeconds = 60 },
		"expires 900":                func(r *MPARequest) { r.ExpiresInSeconds = 900 },
		"expires default":            func(r *MPARequest) { r.ExpiresInSeconds = 0 },
		"name of 100 emoji units":    func(r *MPARequest) { r.Groups[0].Name = emoji },
		"name of 100 characters":     func(r *MPARequest) { r.Groups[0].Name = strings.Repeat("n", 100) },
		"whitespace padding":         func(r *MPARequest) { r.Action.Description = "Harmless" + strings.Repeat("\u00a0 ", 400) + "real" },
		"emoji with a selector":      func(r *MPARequest) { r.Action.Params["mood"] = "\u2764\ufe0f" },
		"1000-character param":       func(r *MPARequest) { r.Action.Params["reason"] = strings.Repeat("r", 1000) },
		"type of 100":                func(r *MPARequest) { r.Action.Type = strings.Repeat("t", 100) },
		"description of 1000":        func(r *MPARequest) { r.Action.Description = strings.Repeat("d", 1000) },
		"no params":                  func(r *MPARequest) { r.Action.Params = nil },
		"params of every scalar kind": func(r *MPARequest) {
			s := "pointer"
			type label string
			r.Action.Params = map[string]any{"i": 1, "i64": int64(1) << 60, "u8": uint8(7), "f32": float32(1.5), "f": -0.0,
				"b": true, "n": json.Number("12.5"), "p": &s, "named": label("x"), "raw": json.RawMessage(`"raw"`), "t": time.Unix(0, 0)}
		},
		"50 approvers": func(r *MPARequest) {
			r.Groups[2].Approvers = nil
			for i := 0; i < 50; i++ {
				r.Groups[2].Approvers = append(r.Groups[2].Approvers, newTestKey(t).approver())
			}
		},
		"20 groups": func(r *MPARequest) {
			for i := len(r.Groups); i < 20; i++ {
				r.Groups = append(r.Groups, ApprovalGroup{Name: "g" + string(rune('a'+i)), Approvers: []Approver{newTestKey(t).approver()}})
			}
		},
	} {
		req := cloneRequest(base)
		mutate(&req)
		if err := ValidateMPARequest(req); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// spreadKeys name the params spreadParams fills; their labels look nothing alike.
var spreadKeys = []string{"a", "b", "c", "d", "e", "f", "g", "h", "j"}

// spreadParams spreads text over params of at most MaxParamValueLength characters each.
func spreadParams(text string) map[string]any {
	params := map[string]any{}
	runes := []rune(text)
	for _, k := range spreadKeys {
		n := len(runes)
		if n > MaxParamValueLength {
			n = MaxParamValueLength
		}
		params[k] = string(runes[:n])
		runes = runes[n:]
	}
	return params
}

func TestTheActionSizeLimitIsExactlyMaxActionBytes(t *testing.T) {
	req := guideRequest(t)
	empty := spreadParams("")
	overhead, _ := canonicalJSON(map[string]any{"type": "t", "description": "d", "params": empty})
	room := MaxActionBytes - len(overhead)
	text := strings.Repeat("é", room/2) + strings.Repeat("x", room%2) // é is 2 bytes
	req.Action = MPAAction{Type: "t", Description: "d", Params: spreadParams(text)}
	if err := ValidateMPARequest(req); err != nil {
		t.Fatalf("exactly %d bytes: %v", MaxActionBytes, err)
	}
	req.Action.Params["j"] = req.Action.Params["j"].(string) + "x"
	if err := ValidateMPARequest(req); err == nil || err.Error() != "Invalid MPA request: action must be at most 8192 bytes as JSON" {
		t.Fatalf("one byte more: %v", err)
	}
}

func TestRequestPostsTheBodyAndReturnsTheCreatedRequest(t *testing.T) {
	expires := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Millisecond)
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeJSON(w, 201, viewJSON(testRequestID, StatusPending, nil, expires))
	})
	c, _ := newTestClient(t, srv.URL)
	req := guideRequest(t)
	view, err := c.MPA.Request(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if view.RequestID != testRequestID || !view.ExpiresAt.Equal(expires) || view.CompletedAt != nil || len(view.GroupsSatisfied) != 0 || view.Action.Params["engine_id"] != "ENG-001" {
		t.Fatalf("view = %+v", view)
	}
	var sent map[string]any
	if err := json.Unmarshal(srv.recorded()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	groups := sent["groups"].([]any)
	first := groups[0].(map[string]any)["approvers"].([]any)[0].(map[string]any)
	if sent["required"] != 2.0 || sent["expires_in_seconds"] != 600.0 || len(groups) != 3 ||
		first["fingerprint"] != req.Groups[0].Approvers[0].Fingerprint || first["device_public_key"] != req.Groups[0].Approvers[0].DevicePublicKey ||
		sent["action"].(map[string]any)["params"].(map[string]any)["ticket"] != "MAINT-1234" || len(sent) != 4 {
		t.Fatalf("sent %s", srv.recorded()[0].Body)
	}

	// Zero ExpiresInSeconds and nil Params are left out, so the server applies its defaults.
	req.ExpiresInSeconds = 0
	req.Action.Params = nil
	if _, err := c.MPA.Request(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	sent = nil
	_ = json.Unmarshal(srv.recorded()[1].Body, &sent)
	if _, has := sent["expires_in_seconds"]; has {
		t.Fatalf("sent %s", srv.recorded()[1].Body)
	}
	if _, has := sent["action"].(map[string]any)["params"]; has {
		t.Fatalf("sent %s", srv.recorded()[1].Body)
	}
}

func TestGetListAndCancelUseTheirRoutes(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/mpa/requests":
			writeJSON(w, 200, map[string]any{"data": []any{viewJSON(testRequestID, StatusApproved, []string{"Engineering Leads", "Security Team"}, time.Now())}, "next_cursor": "abc"})
		case r.Method == "GET":
			writeJSON(w, 200, viewJSON(testRequestID, StatusApproved, []string{"Engineering Leads", "Security Team"}, time.Now()))
		case r.Method == "POST":
			writeJSON(w, 200, viewJSON(testRequestID, StatusCancelled, nil, time.Now()))
		}
	})
	c, _ := newTestClient(t, srv.URL)
	ctx := context.Background()
	got, err := c.MPA.Get(ctx, testRequestID)
	if err != nil || got.Status != StatusApproved || got.CompletedAt == nil || strings.Join(got.GroupsSatisfied, ",") != "Engineering Leads,Security Team" {
		t.Fatalf("Get: %+v %v", got, err)
	}
	if _, err := c.MPA.Get(ctx, "../../v1/devices"); err != nil {
		t.Fatal(err)
	}
	list, err := c.MPA.List(ctx, ListOptions{Status: StatusApproved, Limit: 10, Cursor: "eyJ9"})
	if err != nil || len(list.Data) != 1 || list.NextCursor != "abc" {
		t.Fatalf("List: %+v %v", list, err)
	}
	if _, err := c.MPA.List(ctx, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	cancelled, err := c.MPA.Cancel(ctx, testRequestID)
	if err != nil || cancelled.Status != StatusCancelled {
		t.Fatalf("Cancel: %+v %v", cancelled, err)
	}
	reqs := srv.recorded()
	want := []string{
		"GET /v1/mpa/requests/" + testRequestID + " ",
		"GET /v1/mpa/requests/..%2F..%2Fv1%2Fdevices ",
		"GET /v1/mpa/requests cursor=eyJ9&limit=10&status=approved",
		"GET /v1/mpa/requests ",
		"POST /v1/mpa/requests/" + testRequestID + "/cancel ",
	}
	for i, r := range reqs {
		if got := r.Method + " " + r.Path + " " + r.RawQuery; got != want[i] {
			t.Errorf("request %d: %s, want %s", i+1, got, want[i])
		}
	}
	if len(reqs[4].Body) != 0 {
		t.Errorf("cancel sent a body: %s", reqs[4].Body)
	}

	for _, bad := range []int{-1, 101} {
		if _, err := c.MPA.List(ctx, ListOptions{Limit: bad}); err == nil || err.Error() != "limit must be an integer from 1 to 100" {
			t.Errorf("limit %d: %v", bad, err)
		}
	}
	for _, call := range []func() error{
		func() error { _, err := c.MPA.Get(ctx, ""); return err },
		func() error { _, err := c.MPA.Cancel(ctx, ""); return err },
		func() error { _, err := c.MPA.AwaitResult(ctx, "", AwaitOptions{}); return err },
	} {
		if err := call(); err == nil || err.Error() != "request_id is required" || !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("empty id: %v", err)
		}
	}
	if len(srv.recorded()) != 5 {
		t.Fatalf("invalid calls reached the server")
	}
}

func TestCancellingAFinishedRequestFailsAtOnce(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeError(w, 409, "request_completed", "MPA request is already approved", map[string]any{"status": "approved"})
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.MPA.Cancel(context.Background(), testRequestID)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Code != "request_completed" || apiErr.Details["status"] != "approved" || srv.count() != 1 {
		t.Fatalf("got %v", err)
	}
}

func TestARetriedCancelThatMeetsItsOwnCancellationSucceeds(t *testing.T) {
	for _, finalStatus := range []string{"cancelled", "approved"} {
		srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
			switch {
			case n == 1: // the cancel took effect but the response was lost
				writeError(w, 502, "bad_gateway", "upstream reset", nil)
			case r.Method == "POST":
				writeError(w, 409, "request_completed", "MPA request is already "+finalStatus, map[string]any{"status": finalStatus})
			default:
				writeJSON(w, 200, viewJSON(testRequestID, StatusCancelled, nil, time.Now()))
			}
		})
		c, _ := newTestClient(t, srv.URL)
		view, err := c.MPA.Cancel(context.Background(), testRequestID)
		if finalStatus == "cancelled" {
			if err != nil || view.Status != StatusCancelled || srv.count() != 3 {
				t.Fatalf("got %+v %v after %d requests", view, err, srv.count())
			}
		} else {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != 409 || apiErr.Details["status"] != "approved" || apiErr.Attempts != 2 {
				t.Fatalf("a retried cancel meeting an approved request must fail: %v", err)
			}
		}
	}
}

// awaitServer answers GET with pending until the nth poll, then with status.
func awaitServer(t *testing.T, pendingPolls int, status MPAStatus, expires time.Time) *fakeServer {
	return newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if n <= pendingPolls {
			writeJSON(w, 200, viewJSON(testRequestID, StatusPending, nil, expires))
			return
		}
		writeJSON(w, 200, viewJSON(testRequestID, status, []string{"Engineering Leads", "Security Team"}, expires))
	})
}

func TestAwaitResultPollsUntilTheRequestIsNoLongerPending(t *testing.T) {
	srv := awaitServer(t, 3, StatusApproved, time.Now().Add(10*time.Minute))
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	result, err := c.MPA.AwaitResult(context.Background(), testRequestID, AwaitOptions{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if result.Status != StatusApproved || strings.Join(result.GroupsSatisfied, ",") != "Engineering Leads,Security Team" || srv.count() != 4 {
		t.Fatalf("result %+v after %d polls", result, srv.count())
	}
	if elapsed := time.Since(start); elapsed < 60*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("3 intervals of 20 ms took %v", elapsed)
	}
	for _, r := range srv.recorded() {
		if r.Method != "GET" || r.Path != "/v1/mpa/requests/"+testRequestID {
			t.Fatalf("polled %s %s", r.Method, r.Path)
		}
	}
}

func TestAwaitResultReturnsEveryFinalStatusWithoutError(t *testing.T) {
	for _, status := range []MPAStatus{StatusApproved, StatusRejected, StatusTimeout, StatusCancelled} {
		srv := awaitServer(t, 1, status, time.Now().Add(time.Minute))
		c, sleeps := newTestClient(t, srv.URL)
		result, err := c.MPA.AwaitResult(context.Background(), testRequestID, AwaitOptions{})
		if err != nil || result.Status != status || !result.Status.IsTerminal() {
			t.Fatalf("%s: %+v %v", status, result, err)
		}
		// The default interval is 3 s.
		if got := sleeps.recorded(); len(got) != 1 || got[0] != 3*time.Second {
			t.Fatalf("%s: waits %v", status, got)
		}
	}
	if StatusPending.IsTerminal() {
		t.Fatal("pending is not terminal")
	}
}

func TestAwaitResultPollsJustAfterTheRequestExpires(t *testing.T) {
	srv := awaitServer(t, 1, StatusTimeout, time.Now().Add(500*time.Millisecond))
	c, sleeps := newTestClient(t, srv.URL)
	if _, err := c.MPA.AwaitResult(context.Background(), testRequestID, AwaitOptions{PollInterval: time.Minute}); err != nil {
		t.Fatal(err)
	}
	got := sleeps.recorded()
	if len(got) != 1 || got[0] > 600*time.Millisecond || got[0] < 300*time.Millisecond {
		t.Fatalf("waits %v, want about 500 ms + 100 ms grace", got)
	}
}

func TestAwaitResultHonoursTheContextDeadline(t *testing.T) {
	srv := awaitServer(t, 1<<30, StatusApproved, time.Now().Add(10*time.Minute))
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.MPA.AwaitResult(ctx, testRequestID, AwaitOptions{PollInterval: 50 * time.Millisecond})
	elapsed := time.Since(start)
	var timeoutErr *AwaitTimeoutError
	if !errors.As(err, &timeoutErr) || !errors.Is(err, ErrAwaitTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if timeoutErr.RequestID != testRequestID || timeoutErr.LastSeen == nil || timeoutErr.LastSeen.Status != StatusPending {
		t.Fatalf("error %+v", timeoutErr)
	}
	if elapsed < 250*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("gave up after %v, want about 300 ms", elapsed)
	}
	if n := srv.count(); n < 2 || n > 8 {
		t.Fatalf("%d polls in 300 ms at 50 ms", n)
	}

	// AwaitOptions.Timeout works the same way.
	start = time.Now()
	_, err = c.MPA.AwaitResult(context.Background(), testRequestID, AwaitOptions{PollInterval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrAwaitTimeout) || time.Since(start) > 2*time.Second {
		t.Fatalf("Timeout option: %v after %v", err, time.Since(start))
	}
}

func TestAwaitResultCanBeCancelled(t *testing.T) {
	srv := awaitServer(t, 1<<30, StatusApproved, time.Now().Add(10*time.Minute))
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = c.MPA.AwaitResult(ctx, testRequestID, AwaitOptions{PollInterval: 20 * time.Millisecond})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrAwaitTimeout) {
		t.Fatalf("got %v", err)
	}
}

func TestAwaitResultReturnsAPersistentErrorAtOnce(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		writeError(w, 404, "not_found", "MPA request not found", nil)
	})
	c, _ := newTestClient(t, srv.URL)
	_, err := c.MPA.AwaitResult(context.Background(), testRequestID, AwaitOptions{})
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrAwaitTimeout) || srv.count() != 1 {
		t.Fatalf("got %v after %d requests", err, srv.count())
	}
}

func TestAwaitResultReportsTransientFailuresCutShortByTheDeadlineAsATimeout(t *testing.T) {
	var polls atomic.Int32
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, n int, body []byte) {
		if polls.Add(1) == 1 {
			writeJSON(w, 200, viewJSON(testRequestID, StatusPending, nil, time.Now().Add(time.Minute)))
			return
		}
		w.Header().Set("Retry-After", "30")
		writeError(w, 503, "unavailable", "storage is unavailable; retry shortly", nil)
	})
	c, err := New(Config{ServiceURL: srv.URL, APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.MPA.AwaitResult(ctx, testRequestID, AwaitOptions{PollInterval: 10 * time.Millisecond})
	var timeoutErr *AwaitTimeoutError
	var apiErr *APIError
	if !errors.As(err, &timeoutErr) || !errors.As(err, &apiErr) || apiErr.Status != 503 || timeoutErr.LastSeen == nil {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("waited %v for a retry that could not happen before the deadline", time.Since(start))
	}
}

func TestAwaitResultRefusesNonsensicalOptions(t *testing.T) {
	c, _ := newTestClient(t, "https://sigil.example.com")
	for _, opts := range []AwaitOptions{{PollInterval: -time.Second}, {Timeout: -time.Second}} {
		if _, err := c.MPA.AwaitResult(context.Background(), testRequestID, opts); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", opts, err)
		}
	}
}
