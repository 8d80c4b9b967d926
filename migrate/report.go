package migrate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// Text is untrusted (it comes from the source), so everything printed goes
// through printable: control and formatting characters become '?', and
// it is cut at n runes.
func printable(s string, n int) string {
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i == n {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		i++
	}
	return b.String()
}

func label(r *Record) string {
	return fmt.Sprintf("%s %s (%s)", r.Kind, printable(r.SourceID, 80), printable(r.Origin, 120))
}

// WriteText writes the plan as a report for people: counts per kind, the
// notes, every rejection and every warning with the record's source id and
// where it is in the source. License keys are never printed.
func (p *Plan) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	target := "not checked against a target"
	if p.TargetChecked {
		target = "checked against the " + printable(p.Target, 200)
	}
	fmt.Fprintf(bw, "Import plan: %s (%s)\n\n", p.System, target)
	fmt.Fprintf(bw, "  %-13s %8s %9s %9s %9s %9s\n", "", "read", "accepted", "rejected", "imported", "warnings")
	for _, k := range Kinds {
		c := p.Counts(k)
		fmt.Fprintf(bw, "  %-13s %8d %9d %9d %9d %9d\n", k.plural(), c.Total, c.Accepted, c.Rejected, c.Existing, c.Warnings)
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(bw, "\nNotes:\n")
		for _, n := range p.Notes {
			fmt.Fprintf(bw, "  %s: %s\n", n.Code, printable(n.Message, 500))
		}
	}
	if n := p.Rejected(); n > 0 {
		fmt.Fprintf(bw, "\nRejected (%d):\n", n)
		for _, k := range Kinds {
			p.each(k, func(r *Record) {
				if r.Rejection != nil {
					fmt.Fprintf(bw, "  %s: %s: %s\n", label(r), r.Rejection.Code, printable(r.Rejection.Message, 300))
				}
			})
		}
	}
	nw := 0
	for _, k := range Kinds {
		p.each(k, func(r *Record) { nw += len(r.Warnings) })
	}
	if nw > 0 {
		fmt.Fprintf(bw, "\nWarnings (%d):\n", nw)
		for _, k := range Kinds {
			p.each(k, func(r *Record) {
				for _, iss := range r.Warnings {
					fmt.Fprintf(bw, "  %s: %s: %s\n", label(r), iss.Code, printable(iss.Message, 300))
				}
			})
		}
	}
	fmt.Fprintf(bw, "\nTo import: %d record(s); %d imported already; %d rejected.\n", p.ToImport(), p.existing(), p.Rejected())
	return bw.Flush()
}

func (p *Plan) existing() int {
	n := 0
	for _, k := range Kinds {
		n += p.Counts(k).Existing
	}
	return n
}

// reportLine is one line of the JSON-lines report. Type says which fields
// are set: "plan", "count", "note", "issue" (level "rejected" or
// "warning"), "outcome" and "result".
type reportLine struct {
	Type     string `json:"type"`
	System   string `json:"system,omitempty"`
	Target   string `json:"target,omitempty"`
	Time     string `json:"time,omitempty"`
	Kind     Kind   `json:"kind,omitempty"`
	Level    string `json:"level,omitempty"`
	SourceID string `json:"sourceId,omitempty"`
	Origin   string `json:"origin,omitempty"`
	ID       string `json:"id,omitempty"`
	Result   string `json:"result,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`

	Total    *int `json:"total,omitempty"`
	Accepted *int `json:"accepted,omitempty"`
	Rejected *int `json:"rejected,omitempty"`
	Existing *int `json:"existing,omitempty"`
	Warnings *int `json:"warnings,omitempty"`
	Created  *int `json:"created,omitempty"`
	Failed   *int `json:"failed,omitempty"`
}

// WriteJSONLines writes the plan as JSON lines, one object per line: a
// "plan" line, a "count" line per kind, a "note" line per note and an
// "issue" line per rejection and warning (level "rejected" or "warning",
// with kind, sourceId, origin, code and message).
func (p *Plan) WriteJSONLines(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	target := ""
	if p.TargetChecked {
		target = p.Target
	}
	_ = enc.Encode(reportLine{Type: "plan", System: p.System, Target: target, Time: p.Now.UTC().Format(time.RFC3339)})
	for _, k := range Kinds {
		c := p.Counts(k)
		_ = enc.Encode(reportLine{Type: "count", Kind: k, Total: intPtr(c.Total), Accepted: intPtr(c.Accepted),
			Rejected: intPtr(c.Rejected), Existing: intPtr(c.Existing), Warnings: intPtr(c.Warnings)})
	}
	for _, note := range p.Notes {
		_ = enc.Encode(reportLine{Type: "note", Code: note.Code, Message: note.Message})
	}
	for _, k := range Kinds {
		p.each(k, func(r *Record) {
			if r.Rejection != nil {
				_ = enc.Encode(reportLine{Type: "issue", Level: "rejected", Kind: k, SourceID: r.SourceID,
					Origin: r.Origin, Code: r.Rejection.Code, Message: r.Rejection.Message})
			}
			for _, iss := range r.Warnings {
				_ = enc.Encode(reportLine{Type: "issue", Level: "warning", Kind: k, SourceID: r.SourceID,
					Origin: r.Origin, Code: iss.Code, Message: iss.Message})
			}
		})
	}
	return bw.Flush()
}

// WriteText writes what Apply did: counts per kind and every failure.
func (r *Result) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "  %-13s %8s %9s %9s\n", "", "created", "existing", "failed")
	for _, k := range Kinds {
		c := r.Counts(k)
		fmt.Fprintf(bw, "  %-13s %8d %9d %9d\n", k.plural(), c.Created, c.Existing, c.Failed)
	}
	if f := r.Failed(); f > 0 {
		fmt.Fprintf(bw, "\nFailed (%d):\n", f)
		for _, o := range r.Outcomes {
			if o.Result == ResultFailed && o.Error != nil {
				rec := Record{Kind: o.Kind, SourceID: o.SourceID, Origin: o.Origin}
				fmt.Fprintf(bw, "  %s: %s: %s\n", label(&rec), o.Error.Code, printable(o.Error.Message, 300))
			}
		}
	}
	return bw.Flush()
}

// WriteJSONLines writes an "outcome" line per record (kind, sourceId,
// origin, id, result, and code and message when it failed) and a "result"
// line per kind with the counts.
func (r *Result) WriteJSONLines(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, o := range r.Outcomes {
		line := reportLine{Type: "outcome", Kind: o.Kind, SourceID: o.SourceID, Origin: o.Origin, ID: o.ID, Result: o.Result}
		if o.Error != nil {
			line.Code, line.Message = o.Error.Code, o.Error.Message
		}
		_ = enc.Encode(line)
	}
	for _, k := range Kinds {
		c := r.Counts(k)
		_ = enc.Encode(reportLine{Type: "result", Kind: k, Created: intPtr(c.Created), Existing: intPtr(c.Existing), Failed: intPtr(c.Failed)})
	}
	return bw.Flush()
}
