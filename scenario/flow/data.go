package flow

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
)

// Table is a data set loaded: its columns and rows of text. A JSON file's numbers and booleans
// are their JSON text, null is "", and nested arrays and objects are compact JSON.
type Table struct {
	Name    string
	Columns []string
	Rows    [][]string // each as long as Columns
}

// Column returns the index of the named column, or -1.
func (t *Table) Column(name string) int { return slices.Index(t.Columns, name) }

// LoadData reads the scenario's data files from fsys, the scenario's directory (os.DirFS of
// it, or the run's bundle). Each file is held to MaxDataBytes, MaxDataRows and MaxDataColumns,
// and every column a template reads must exist. The master calls it before any load and
// bundles the files it read, as it bundles the files a k6 script open()s. Errors name the
// data file's line, or the scenario's line that reads a missing column.
func (s *Scenario) LoadData(fsys fs.FS) (map[string]*Table, error) {
	out := make(map[string]*Table, len(s.Data))
	var errs []error
	for _, d := range s.Data {
		t, err := s.load(fsys, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range d.Fields {
			if t.Column(f.Field) < 0 {
				errs = append(errs, &Error{File: s.File, Line: f.Line, Col: f.Col, Path: f.Path,
					Msg: fmt.Sprintf("${%s.%s}: %s has no column %q; its columns: %s", d.Name, f.Field, d.File, f.Field, strings.Join(t.Columns, ", "))})
			}
		}
		out[d.Name] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func (s *Scenario) load(fsys fs.FS, d *DataSet) (*Table, error) {
	at := func(msg string, args ...any) error {
		return &Error{File: s.File, Line: d.Line, Col: d.Col, Path: d.Path + ".file", Msg: d.File + ": " + fmt.Sprintf(msg, args...)}
	}
	f, err := fsys.Open(d.File)
	if err != nil {
		return nil, at("%v", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, MaxDataBytes+1))
	if err != nil {
		return nil, at("%v", err)
	}
	if len(src) > MaxDataBytes {
		return nil, at("over the limit of %d bytes (MaxDataBytes)", MaxDataBytes)
	}
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	name := path.Join(path.Dir(s.File), d.File) // data errors name the data file's own lines
	var t *Table
	if strings.EqualFold(path.Ext(d.File), ".csv") {
		t, err = loadCSV(name, src)
	} else {
		t, err = loadJSON(name, src)
	}
	if err != nil {
		return nil, err
	}
	t.Name = d.Name
	return t, nil
}

func loadCSV(name string, src []byte) (*Table, error) {
	r := csv.NewReader(bytes.NewReader(src))
	header, err := r.Read()
	if err != nil {
		return nil, csvError(name, err)
	}
	t := &Table{Columns: header}
	if err := checkColumns(name, header); err != nil {
		return nil, err
	}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(name, err)
		}
		if len(t.Rows) == MaxDataRows {
			line, _ := r.FieldPos(0)
			return nil, &Error{File: name, Line: line, Msg: fmt.Sprintf("more than %d rows (MaxDataRows)", MaxDataRows)}
		}
		t.Rows = append(t.Rows, row)
	}
	if len(t.Rows) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "no rows under the header row"}
	}
	return t, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Line, Col: pe.Column, Msg: pe.Err.Error()}
	}
	if errors.Is(err, io.EOF) {
		return &Error{File: name, Line: 1, Msg: "empty: want a header row, then rows"}
	}
	return &Error{File: name, Line: 1, Msg: err.Error()}
}

func checkColumns(name string, cols []string) error {
	if len(cols) > MaxDataColumns {
		return &Error{File: name, Line: 1, Msg: fmt.Sprintf("%d columns, over the limit of %d (MaxDataColumns)", len(cols), MaxDataColumns)}
	}
	seen := map[string]bool{}
	for _, c := range cols {
		if c == "" || seen[c] {
			return &Error{File: name, Line: 1, Msg: fmt.Sprintf("column %q: the header row needs distinct, non-empty names", c)}
		}
		seen[c] = true
	}
	return nil
}

func loadJSON(name string, src []byte) (*Table, error) {
	var rows []map[string]json.RawMessage
	if err := json.Unmarshal(src, &rows); err != nil {
		line := 1
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line += bytes.Count(src[:min(se.Offset, int64(len(src)))], []byte("\n"))
		case errors.As(err, &te):
			line += bytes.Count(src[:min(te.Offset, int64(len(src)))], []byte("\n"))
			err = errors.New("want an array of objects, [{\"user\": \"ada\"}, ...]")
		}
		return nil, &Error{File: name, Line: line, Msg: err.Error()}
	}
	if len(rows) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "no rows: want an array of objects, [{\"user\": \"ada\"}, ...]"}
	}
	if len(rows) > MaxDataRows {
		return nil, &Error{File: name, Line: 1, Msg: fmt.Sprintf("%d rows, over the limit of %d (MaxDataRows)", len(rows), MaxDataRows)}
	}
	cols := map[string]bool{}
	for _, r := range rows {
		for k := range r {
			cols[k] = true
		}
		if len(cols) > MaxDataColumns {
			break
		}
	}
	t := &Table{Columns: slices.Sorted(maps.Keys(cols))}
	if err := checkColumns(name, t.Columns); err != nil {
		return nil, err
	}
	for _, r := range rows {
		row := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			row[i] = cellText(r[c])
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func cellText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
