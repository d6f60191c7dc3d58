package cli

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		wantUsers int
		wantBind  string
		wantErr   bool
	}{
		{"defaults", nil, nil, 0, "0.0.0.0:5557", false},
		{"env fills unset flags", nil, map[string]string{"STAMPEDE_USERS": "7", "STAMPEDE_MASTER_BIND": "127.0.0.1:1"}, 7, "127.0.0.1:1", false},
		{"explicit flag wins", []string{"--users", "3"}, map[string]string{"STAMPEDE_USERS": "7"}, 3, "0.0.0.0:5557", false},
		{"shorthand counts as explicit", []string{"-u", "4"}, map[string]string{"STAMPEDE_USERS": "7"}, 4, "0.0.0.0:5557", false},
		{"bad env value names the variable", nil, map[string]string{"STAMPEDE_USERS": "many"}, 0, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			var users int
			fs.IntVar(&users, "users", 0, "")
			fs.IntVar(&users, "u", 0, "")
			bind := fs.String("master-bind", "0.0.0.0:5557", "")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if users != tc.wantUsers || *bind != tc.wantBind {
				t.Errorf("users %d bind %q, want %d %q", users, *bind, tc.wantUsers, tc.wantBind)
			}
		})
	}
}

func TestKeyValues(t *testing.T) {
	t.Parallel()
	kv := KeyValues{}
	for _, s := range []string{"A=1", "B=x=y", "C="} {
		if err := kv.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	if kv["A"] != "1" || kv["B"] != "x=y" || kv["C"] != "" {
		t.Errorf("got %v", kv)
	}
	for _, bad := range []string{"novalue", "=x"} {
		if err := kv.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestStringsFromFlagsAndEnv(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"repeated flag", []string{"--threshold", "a: p(95)<1", "--threshold", "b{x:1,y:2}: rate<0.1"}, nil, []string{"a: p(95)<1", "b{x:1,y:2}: rate<0.1"}},
		{"one per line from the environment", nil, map[string]string{"STAMPEDE_THRESHOLD": "a: p(95)<1\nb{x:1,y:2}: rate<0.1\n"}, []string{"a: p(95)<1", "b{x:1,y:2}: rate<0.1"}},
		{"the flag wins", []string{"--threshold", "c: count>1"}, map[string]string{"STAMPEDE_THRESHOLD": "a: p(95)<1"}, []string{"c: count>1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got Strings
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.Var(&got, "threshold", "")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%q, want %q", got, tt.want)
			}
		})
	}
}

func TestEpochFlag(t *testing.T) {
	tests := []struct {
		env, arg string
		want     int64
		wantErr  bool
	}{
		{"", "", 0, false},
		{"1700000000", "", 1700000000, false},
		{"1700000000", "--epoch=5", 5, false},
		{"yesterday", "", 0, true},
		{"-1", "", 0, true},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		epoch, err := EpochFlag(fs, "the time", func(string) string { return tt.env })
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
				t.Errorf("SOURCE_DATE_EPOCH=%q: err = %v, want one naming SOURCE_DATE_EPOCH", tt.env, err)
			}
			continue
		}
		var args []string
		if tt.arg != "" {
			args = []string{tt.arg}
		}
		if err != nil || fs.Parse(args) != nil || *epoch != tt.want {
			t.Errorf("SOURCE_DATE_EPOCH=%q %v: epoch %v (err %v), want %d", tt.env, args, epoch, err, tt.want)
		}
	}
}
