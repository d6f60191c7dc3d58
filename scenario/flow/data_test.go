package flow

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadData(t *testing.T) {
	t.Parallel()
	src := head + `data:
  c: {file: d/c.csv}
  j: {file: j.JSON, each: random}
classes:
  a:
    steps: [{get: "/${c.user}/${j.id}/${j.tags}"}]
`
	s, err := Parse("dir/t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	good := fstest.MapFS{
		"d/c.csv": {Data: []byte("\xef\xbb\xbfuser,password\nada,\"love,lace\"\nalan,turing\n")},
		"j.JSON":  {Data: []byte(`[{"id": 1, "tags": ["a"], "name": "x"}, {"id": 2.5, "n": null}]`)},
	}
	tables, err := s.LoadData(good)
	if err != nil {
		t.Fatal(err)
	}
	c, j := tables["c"], tables["j"]
	if strings.Join(c.Columns, ",") != "user,password" || len(c.Rows) != 2 || c.Rows[0][1] != "love,lace" {
		t.Errorf("csv: %+v", c)
	}
	if strings.Join(j.Columns, ",") != "id,n,name,tags" || j.Rows[0][3] != `["a"]` || j.Rows[1][0] != "2.5" || j.Rows[1][1] != "" {
		t.Errorf("json: %+v", j)
	}

	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"missing file", fstest.MapFS{"j.JSON": good["j.JSON"]}, "dir/t.yaml:4:3: data.c.file: d/c.csv: open d/c.csv: file does not exist"},
		{"missing column", fstest.MapFS{"d/c.csv": {Data: []byte("name\nada\n")}, "j.JSON": good["j.JSON"]},
			`dir/t.yaml:8:19: classes.a.steps[0].get: ${c.user}: d/c.csv has no column "user"; its columns: name`},
		{"csv syntax", fstest.MapFS{"d/c.csv": {Data: []byte("user\n\"ada\n")}, "j.JSON": good["j.JSON"]},
			"dir/d/c.csv:2:6: extraneous or missing \" in quoted-field"},
		{"csv fields", fstest.MapFS{"d/c.csv": {Data: []byte("user,password\nada\n")}, "j.JSON": good["j.JSON"]},
			"dir/d/c.csv:2:1: wrong number of fields"},
		{"csv header only", fstest.MapFS{"d/c.csv": {Data: []byte("user\n")}, "j.JSON": good["j.JSON"]},
			"dir/d/c.csv:1: no rows under the header row"},
		{"csv duplicate column", fstest.MapFS{"d/c.csv": {Data: []byte("user,user\na,b\n")}, "j.JSON": good["j.JSON"]},
			`dir/d/c.csv:1: column "user": the header row needs distinct, non-empty names`},
		{"json not objects", fstest.MapFS{"d/c.csv": good["d/c.csv"], "j.JSON": {Data: []byte("[\n1]")}},
			"dir/j.JSON:2: want an array of objects, [{\"user\": \"ada\"}, ...]"},
		{"json syntax", fstest.MapFS{"d/c.csv": good["d/c.csv"], "j.JSON": {Data: []byte("[\n{\"id\": }]")}},
			"dir/j.JSON:2: invalid character '}' looking for beginning of value"},
		{"too big", fstest.MapFS{"d/c.csv": {Data: make([]byte, MaxDataBytes+1)}, "j.JSON": good["j.JSON"]},
			"dir/t.yaml:4:3: data.c.file: d/c.csv: over the limit of 8388608 bytes (MaxDataBytes)"},
		{"too many rows", fstest.MapFS{"d/c.csv": {Data: []byte("user\n" + strings.Repeat("a\n", MaxDataRows+1))}, "j.JSON": good["j.JSON"]},
			"dir/d/c.csv:100002: more than 100000 rows (MaxDataRows)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.LoadData(tt.fs)
			if err == nil || err.Error() != tt.want {
				t.Errorf("LoadData: %v\nwant: %s", err, tt.want)
			}
		})
	}
}
