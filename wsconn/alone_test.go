package wsconn_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rtlab/rtlab/internal/child"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFramePathAlone: a program that imports wsconn gets the frame path
// and nothing else. It starts and registers no child process (this test
// binary imports wsconn, and its child registry is empty; wsconn does not
// depend on internal/child at all), it pulls in none of the packages built
// on it, and what go doc lists is the frame path.
func TestFramePathAlone(t *testing.T) {
	assert.Empty(t, child.Registered(), "child functions registered by a binary that imports wsconn")

	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list wsconn's dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	require.NoError(t, err)
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"internal/child", "wsconn/server", "wsconn/client", "wsconn/load", "internal/procmem", "internal/sampler"} {
			assert.False(t, strings.HasSuffix(dep, "/"+banned), "wsconn depends on %s", dep)
		}
	}

	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var exported []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.IsExported() && (d.Recv == nil || ast.IsExported(recvName(d.Recv))) {
					exported = append(exported, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					switch sp := sp.(type) {
					case *ast.TypeSpec:
						if sp.Name.IsExported() {
							exported = append(exported, sp.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							if n.IsExported() {
								exported = append(exported, n.Name)
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(exported)
	exported = slices.Compact(exported)
	framePath := []string{
		"Buffered", "CloseError", "CloseGracefully", "DefaultMaxFrame", "DefaultMaxHandshakeBytes", "DefaultMaxMessage",
		"DefaultReadBuffer", "Discard", "EchoHandler", "Error", "FrameReader", "FrameWriter", "HandleMessage",
		"Handler", "HandlerFunc", "Handshake", "IsNormalClose", "Limits", "MaxGrownReadBuffer", "MessageReader", "NewFrameReader",
		"ParseHeader", "Peek", "Read", "ReadFrame", "ReadHeader", "ReadMessage", "ReadMessageBuffered",
		"ReadMessageFrom", "Reset", "Serve", "ServeBuffered", "ServeConn", "ServeFrom", "Size",
		"WholeFrame", "WithDefaults", "WriteClose", "WriteFrame", "WriteMessage",
	}
	assert.Equal(t, framePath, exported, "wsconn's exported API: the frame path only")
}

func recvName(fl *ast.FieldList) string {
	t := fl.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
