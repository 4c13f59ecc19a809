package sigil

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The approval screen's text rules, a port of the protocol package's text.ts and labels.ts over
// the same frozen Unicode tables (unicode_tables.go), so that a request is judged here exactly
// as the server judges it.

type charClass byte

const (
	classRefused  charClass = 'X' // invisible or formatting: refused
	classSpace    charClass = 'S' // whitespace: runs show as one space
	classSelector charClass = 'V' // U+FE0E / U+FE0F, only right after a visible character
	classMark     charClass = 'M' // combining mark
	classAlnum    charClass = 'A' // letter or digit
	classOther    charClass = 'O' // other visible character
)

// maxCombiningMarks is the most combining marks one character may carry.
const maxCombiningMarks = 4

var (
	classStarts []rune
	classOf     []charClass
	lowerMap    = map[rune]rune{}
	foldMap     = map[rune]string{}
	lookalikes  = map[rune]string{}
)

func base36(s string) int {
	n, err := strconv.ParseInt(s, 36, 64)
	if err != nil {
		panic("sigil: corrupt Unicode table: " + s)
	}
	return int(n)
}

func init() {
	at := 0
	for i := 0; i < len(classRuns); {
		class := charClass(classRuns[i])
		j := i + 1
		for j < len(classRuns) && !strings.ContainsRune("XSVMAO", rune(classRuns[j])) {
			j++
		}
		at += base36(classRuns[i+1 : j])
		classStarts = append(classStarts, rune(at))
		classOf = append(classOf, class)
		i = j
	}
	for _, run := range strings.Split(lowerRuns, ",") {
		f := strings.Split(run, ":")
		start, count, stride, delta := base36(f[0]), base36(f[1]), base36(f[2]), base36(f[3])
		for i := 0; i < count; i++ {
			lowerMap[rune(start+i*stride)] = rune(start + i*stride + delta)
		}
	}
	for _, run := range strings.Split(foldRuns, ",") {
		f := strings.Split(run, ":")
		start, count, stride, step, target := base36(f[0]), base36(f[1]), base36(f[2]), base36(f[3]), f[4]
		for i := 0; i < count; i++ {
			t := target
			if len(target) == 1 {
				t = string(rune(int(target[0]) + i*step))
			}
			foldMap[rune(start+i*stride)] = t
		}
	}
	for _, pair := range strings.Split(lookalikePairs, ",") {
		f := strings.Split(pair, ":")
		lookalikes[rune(base36(f[0]))] = f[1]
	}
}

func classOfRune(r rune) charClass {
	i := sort.Search(len(classStarts), func(i int) bool { return classStarts[i] > r }) - 1
	return classOf[i]
}

func codePointName(r rune) string { return fmt.Sprintf("U+%04X", r) }

// textProblem says why a text cannot be shown to an approver exactly as it is signed, or "".
func textProblem(value string) string {
	var previous charClass
	marks := 0
	for _, r := range value {
		class := classOfRune(r)
		if class == classRefused {
			return "contains an invisible or formatting character (" + codePointName(r) + ")"
		}
		if class == classSelector && previous != classAlnum && previous != classOther {
			return "contains a presentation selector (" + codePointName(r) + ") that follows no visible character"
		}
		if class == classMark {
			marks++
		} else {
			marks = 0
		}
		if marks > maxCombiningMarks {
			return fmt.Sprintf("has more than %d combining marks on one character", maxCombiningMarks)
		}
		previous = class
	}
	return ""
}

// collapseSpaces is what the approval screen makes of a text that passed textProblem: runs of
// whitespace become one space, and the ends are trimmed.
func collapseSpaces(value string) string {
	var b strings.Builder
	space := false
	for _, r := range value {
		if classOfRune(r) == classSpace {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

func lowerCase(s string) string {
	var b strings.Builder
	for _, r := range s {
		if l, ok := lowerMap[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

var acronyms = map[string]string{
	"id": "ID", "ids": "IDs", "url": "URL", "urls": "URLs", "uri": "URI", "ip": "IP", "ips": "IPs", "api": "API",
	"uuid": "UUID", "dns": "DNS", "ssh": "SSH", "tls": "TLS", "ssl": "SSL", "http": "HTTP", "https": "HTTPS",
	"sql": "SQL", "cpu": "CPU", "vm": "VM", "vpn": "VPN", "sso": "SSO", "mfa": "MFA", "ttl": "TTL",
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// paramLabel is how the approval screen labels a param that passed textProblem:
// engine_id → "Engine ID", requested_by → "Requested by".
func paramLabel(key string) string {
	words := strings.FieldsFunc(collapseSpaces(key), func(r rune) bool { return r == '_' || r == '-' || r == ' ' })
	if len(words) == 0 {
		return "(unnamed)"
	}
	for i, word := range words {
		if acronym, ok := acronyms[asciiLower(word)]; ok {
			words[i] = acronym
		} else if lowerCase(word) == word && i == 0 && word[0] >= 'a' && word[0] <= 'z' {
			words[i] = string(word[0]-'a'+'A') + word[1:]
		}
	}
	return strings.Join(words, " ")
}

// labelSkeleton reduces a label to what a reader can tell apart; labels with equal skeletons
// could be mistaken for each other on the approval screen. i, I, l and 1 are one letter here.
func labelSkeleton(label string) string {
	var b strings.Builder
	for _, r := range label {
		if classOfRune(r) != classAlnum {
			continue
		}
		if t, ok := lookalikes[r]; ok {
			b.WriteString(t)
		} else if t, ok := foldMap[r]; ok {
			b.WriteString(t)
		} else if l, ok := lowerMap[r]; ok {
			b.WriteRune(l)
		} else {
			b.WriteRune(r)
		}
	}
	return strings.ReplaceAll(b.String(), "i", "l")
}

// screenLabels are the labels the approval screen uses itself; a param may not look like one.
var screenLabels = []string{"Action type", "Your group"}

func reservedLabel(skeleton string) (string, bool) {
	for _, label := range screenLabels {
		if labelSkeleton(label) == skeleton {
			return label, true
		}
	}
	return "", false
}
