package sigil

// Checks that ValidateMPARequest gives the same verdict and message as the protocol package's
// validateMpaRequest (which the server uses) for the same JSON, by running the built
// TypeScript with node. Skipped when node or the build is missing, unless required (see
// integrationRequired).

import (
	"bytes"
	"context"
	"encoding/json"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// integrationRequired is true under CI (CI=true or SIGIL_REQUIRE_INTEGRATION=1): every test must
// run there, against the real components, with nothing skipped or stood in for.
func integrationRequired() bool {
	return os.Getenv("SIGIL_REQUIRE_INTEGRATION") == "1" || os.Getenv("CI") == "true"
}

// skipOrFail skips the test, or fails it when integration is required.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if integrationRequired() {
		t.Fatalf("required under CI (CI=true or SIGIL_REQUIRE_INTEGRATION=1) but: "+format, args...)
	}
	t.Skipf(format, args...)
}

// repoFile returns the absolute path of a file of the Sigil repository (sdk-go's parent),
// skipping (or failing) the test when it does not exist.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, "%s is missing; build the TypeScript first (npm run build at the repository root)", rel)
	}
	return path
}

func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed: %v", err)
	}
	return node
}

const parityScript = `
const { validateMpaRequest, MpaValidationError } = await import(process.argv[1]);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const bodies = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const out = bodies.map((body) => {
  try {
    validateMpaRequest(body);
    return null;
  } catch (err) {
    return err instanceof MpaValidationError ? err.message : 'UNEXPECTED ' + err.stack;
  }
});
process.stdout.write(JSON.stringify(out));
`

// protocolVerdicts runs the protocol's validator over the JSON bodies: nil for valid.
func protocolVerdicts(t *testing.T, bodies []json.RawMessage) []*string {
	t.Helper()
	node := nodeBinary(t)
	dist := repoFile(t, "packages/protocol/dist/index.js")
	input, err := json.Marshal(bodies)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-e", parityScript, "file://"+filepath.ToSlash(dist))
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var verdicts []*string
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts) != len(bodies) {
		t.Fatalf("node output %q: %v", out, err)
	}
	return verdicts
}

// marshalable reports whether the request's JSON is exactly what ValidateMPARequest judged:
// encoding/json replaces invalid UTF-8 and cannot encode NaN, so such cases have no JSON twin.
func marshalable(req MPARequest) (json.RawMessage, bool) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, false
	}
	var check func(v any) bool
	check = func(v any) bool {
		switch x := v.(type) {
		case string:
			return !strings.ContainsRune(x, '\uFFFD')
		case map[string]any:
			for k, e := range x {
				if !check(k) || !check(e) {
					return false
				}
			}
		case []any:
			for _, e := range x {
				if !check(e) {
					return false
				}
			}
		}
		return true
	}
	var generic any
	if json.Unmarshal(body, &generic) != nil || !check(generic) {
		return nil, false
	}
	return body, true
}

// randomRequests makes requests near every rule's edge, valid and invalid.
func randomRequests(t *testing.T, n int, seed int64) []MPARequest {
	rng := mrand.New(mrand.NewSource(seed))
	t.Logf("random requests from seed %d", seed)
	keys := make([]testKey, 8)
	for i := range keys {
		keys[i] = newTestKey(t)
	}
	pick := func(options ...string) string { return options[rng.Intn(len(options))] }
	names := []string{"Engineering Leads", "Security Team", "Operations", "", "  ", "\u3000", "\ufeff", "\u0085", "\u200b", "Zoë’s team 📱",
		strings.Repeat("n", 100), strings.Repeat("n", 101), strings.Repeat("😀", 50), strings.Repeat("😀", 50) + "n", strings.Repeat("é", 100), "<b>&amp;</b>", "line\nbreak", "quote\"s"}
	texts := []string{"cold_boot", "", " ", "\t\n", strings.Repeat("t", 100), strings.Repeat("t", 101), strings.Repeat("😀", 50), strings.Repeat("😀", 51), "\u2028", "x\u2029", strings.Repeat("d", 1000), strings.Repeat("d", 1001)}
	texts = append(texts, hostileTexts...)
	names = append(names, hostileTexts...)
	paramKeys := []string{"engine_id", "0", "1", "01", "10", "4294967294", "4294967295", "-1", "a", "B", "é", "😀", "", " ", "__proto__x", "ticket",
		"Engine ID", "engine-id", "ENGINE_ID", "engine_1d", "\u0435ngine_id", "ｅｎｇｉｎｅ_ｉｄ", "action_type", "Your group", "your-group", "__", "-\ufe0f", "a\u200bb", "x\u00ad", strings.Repeat("k", 100), strings.Repeat("k", 101), "amount", "Amount", "\u0430mount", "l", "I", "i"}
	paramValues := []any{"ENG-001", "Harmless" + strings.Repeat("\u00a0 ", 300) + "real", "❤\ufe0f", " \ufe0f", "e\u0301\u0301\u0301\u0301\u0301", "ok\U000E0041", "\u3164", strings.Repeat("v", 1000), strings.Repeat("v", 1001), "", "\u0001\u001f\"\\/", "\u2028\u2029", "<script>&", 0, -0.5, 1e21, 1e-7, 123456789012345678, json.Number("1e400"), json.Number("2.50"), true, false, nil,
		[]int{1}, map[string]any{}, strings.Repeat("x", 4000), strings.Repeat("é", 2000), strings.Repeat("\u0001", 700)}
	badKey := func(a *Approver) {
		switch rng.Intn(4) {
		case 0:
			a.Fingerprint = strings.ToUpper(a.Fingerprint)
		case 1:
			a.DevicePublicKey = keys[rng.Intn(len(keys))].publicKey
		case 2:
			// A key already broken by an earlier mutation may be shorter than the cut.
			cut := a.DevicePublicKey
			if len(cut) > 40 {
				cut = cut[:40]
			}
			a.DevicePublicKey = pick("", "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", "A2sX0fLhLEJH-Lzm5WOkQPJ3A32BLeszoPShOUXYmMKW", a.DevicePublicKey+"\n", "Ag8xYz...", cut+"====")
		case 3:
			a.Fingerprint = pick("", "abc123...", strings.Repeat("0", 64))
		}
	}
	// Each mutation breaks (or stretches) one rule; several may apply to one request.
	mutations := []func(r *MPARequest){
		func(r *MPARequest) { r.Required = rng.Intn(len(r.Groups)+3) - 1 },
		func(r *MPARequest) { r.ExpiresInSeconds = []int{0, 59, 60, 300, 900, 901, -1}[rng.Intn(7)] },
		func(r *MPARequest) { r.Groups = nil },
		func(r *MPARequest) {
			for len(r.Groups) < 20+rng.Intn(2) {
				r.Groups = append(r.Groups, ApprovalGroup{Name: "extra " + string(rune('a'+len(r.Groups))), Approvers: []Approver{keys[rng.Intn(len(keys))].approver()}})
			}
		},
		func(r *MPARequest) { r.Groups[rng.Intn(len(r.Groups))].Name = pick(names...) },
		func(r *MPARequest) { r.Groups[rng.Intn(len(r.Groups))].Name = r.Groups[0].Name },
		func(r *MPARequest) { r.Groups[rng.Intn(len(r.Groups))].Approvers = [][]Approver{nil, {}}[rng.Intn(2)] },
		func(r *MPARequest) {
			g := &r.Groups[rng.Intn(len(r.Groups))]
			for len(g.Approvers) < 50+rng.Intn(2) {
				g.Approvers = append(g.Approvers, keys[rng.Intn(len(keys))].approver())
			}
		},
		func(r *MPARequest) {
			g := &r.Groups[rng.Intn(len(r.Groups))]
			if len(g.Approvers) > 0 {
				badKey(&g.Approvers[rng.Intn(len(g.Approvers))])
			}
		},
		func(r *MPARequest) { // a device twice, in one group or two
			g := &r.Groups[rng.Intn(len(r.Groups))]
			g.Approvers = append(g.Approvers, r.Groups[rng.Intn(len(r.Groups))].Approvers...)
		},
		func(r *MPARequest) { // a group names a team, with or without approvers
			g := &r.Groups[rng.Intn(len(r.Groups))]
			g.Team = pick("security", "on-call_2", "Bad Slug", "a", strings.Repeat("a", 63), strings.Repeat("a", 64), "-x", "é")
			if rng.Intn(3) > 0 {
				g.Approvers = nil
			}
		},
		func(r *MPARequest) { // two groups name one team
			r.Groups[rng.Intn(len(r.Groups))].Team, r.Groups[rng.Intn(len(r.Groups))].Team = "ops", "ops"
		},
		func(r *MPARequest) {
			r.RequestedBy = []*RequestedBy{
				{Fingerprint: keys[rng.Intn(len(keys))].fingerprint}, {ID: "user-1"}, {ID: "has space"}, {ID: strings.Repeat("i", 200)},
				{ID: strings.Repeat("i", 201)}, {ID: "é"}, {}, {Fingerprint: strings.Repeat("0", 64), ID: "both"}, {Fingerprint: "ABC"},
			}[rng.Intn(9)]
		},
		func(r *MPARequest) { r.Action.Type = pick(texts...) },
		func(r *MPARequest) { r.Action.Description = pick(texts...) },
		func(r *MPARequest) {
			if r.Action.Params == nil {
				r.Action.Params = map[string]any{}
			}
			for p := 1 + rng.Intn(4); p > 0; p-- {
				r.Action.Params[paramKeys[rng.Intn(len(paramKeys))]] = paramValues[rng.Intn(len(paramValues))]
			}
		},
		func(r *MPARequest) { // near the size limit
			r.Action.Params = map[string]any{"a": strings.Repeat("x", 3000+rng.Intn(200)), "b": strings.Repeat("é", 1500+rng.Intn(200)), "c": strings.Repeat("\u0001", rng.Intn(200))}
		},
	}
	var out []MPARequest
	next := 0
	for i := 0; i < n; i++ {
		// A valid request with distinct devices, then some mutations.
		perm := rng.Perm(len(keys))
		req := MPARequest{Action: MPAAction{Type: "cold_boot", Description: "Cold boot engine ENG-001", Params: map[string]any{"engine_id": "ENG-001", "n": 1}}}
		for g := 0; g < 1+rng.Intn(3); g++ {
			req.Groups = append(req.Groups, ApprovalGroup{Name: "group " + string(rune('A'+g)), Approvers: []Approver{keys[perm[2*g]].approver(), keys[perm[2*g+1]].approver()}})
		}
		req.Required = 1 + rng.Intn(len(req.Groups))
		for m := rng.Intn(4); m > 0; m-- {
			mutation := mutations[rng.Intn(len(mutations))]
			if rng.Intn(2) == 0 { // make sure every mutation is used
				mutation = mutations[next%len(mutations)]
				next++
			}
			if len(req.Groups) == 0 {
				break
			}
			mutation(&req)
		}
		out = append(out, req)
	}
	return out
}

// hostileTexts are strings a requester could use to pad, hide or disguise what approvers see.
var hostileTexts = []string{
	"Harmless" + strings.Repeat(" ", 200) + "real", "a\u00a0\u00a0b", "\u3000x", "ENG\u200b-001", "soft\u00adhyphen", "mongolian\u180evs", "\u3164", "\u115f\u1160",
	"half\uffa0width", "anchor\ufff9x\ufffb", "tag\U000E0041\U000E007F", "\U000E0001", "var\ufe00", "❤\ufe0f", "\ufe0f", "rtl\u202eexe", "\u2066iso\u2069", "\ufeffbom",
	"\x1b[2J", "\x7f", "\u0085", "\u2800", "e\u0301\u0301\u0301\u0301", "e\u0301\u0301\u0301\u0301\u0301", "\U000F0000", "\ue000", "\u0378", "\U0001D41A\U0001D41B",
}

// messageShape blanks out the fingerprints, numbers and names that vary between messages.
var messageShape = regexp.MustCompile(`[0-9a-f]{64}|[0-9]+|"[^"]*"|action\.params\.\S+`)

func TestUnicodeTablesAreTheProtocolPackages(t *testing.T) {
	node := nodeBinary(t)
	dist := repoFile(t, "packages/protocol/dist/unicode-tables.js")
	script := `const t = await import(process.argv[1]); process.stdout.write(JSON.stringify([t.UNICODE_TABLES_VERSION, t.CLASS_RUNS, t.LOWER_RUNS, t.FOLD_RUNS, t.LOOKALIKE_PAIRS]));`
	out, err := exec.Command(node, "--input-type=module", "-e", script, "file://"+filepath.ToSlash(dist)).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var tables []string
	if err := json.Unmarshal(out, &tables); err != nil {
		t.Fatal(err)
	}
	if want := []string{unicodeTablesVersion, classRuns, lowerRuns, foldRuns, lookalikePairs}; !reflect.DeepEqual(tables, want) {
		t.Fatal("sdk-go/unicode_tables.go differs from packages/protocol/src/unicode-tables.ts: run node scripts/generate-unicode-tables.mjs")
	}
}

func TestValidationMatchesTheProtocolPackage(t *testing.T) {
	base := guideRequest(t)
	var requests []MPARequest
	for _, tc := range validationCases(t) {
		req := cloneRequest(base)
		tc.mutate(&req)
		requests = append(requests, req)
	}
	requests = append(requests, base)
	requests = append(requests, randomRequests(t, 1500, time.Now().UnixNano())...)

	var bodies []json.RawMessage
	var judged []MPARequest
	for _, req := range requests {
		if body, ok := marshalable(req); ok {
			bodies = append(bodies, body)
			judged = append(judged, req)
		}
	}
	verdicts := protocolVerdicts(t, bodies)
	valid, mismatches := 0, 0
	distinct := map[string]bool{}
	for i, req := range judged {
		want := verdicts[i]
		if want != nil {
			distinct[messageShape.ReplaceAllString(*want, "#")] = true
		}
		got := ValidateMPARequest(req)
		switch {
		case want == nil && got == nil:
			valid++
		case want == nil || got == nil || got.Error() != *want:
			mismatches++
			if mismatches <= 10 {
				w := "<valid>"
				if want != nil {
					w = *want
				}
				t.Errorf("body %s\n  Go:       %v\n  protocol: %s", bodies[i], got, w)
			}
		}
	}
	t.Logf("%d requests compared (%d valid, %d kinds of message), %d mismatches", len(judged), valid, len(distinct), mismatches)
	if valid == 0 || valid == len(judged) {
		t.Fatalf("the corpus should hold both valid and invalid requests (valid: %d of %d)", valid, len(judged))
	}
}
