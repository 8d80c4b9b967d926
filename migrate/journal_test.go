package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testHeader = `{"journal":"licentric-import","v":1,"system":"keygen","env":"test","base":"http://127.0.0.1:1/api/v1"}` + "\n"

// TestJournalTornLastLine: a line cut by a crash is ignored, cut off on
// open, and the next entry starts on a clean line.
func TestJournalTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	body := testHeader +
		`{"k":"license","s":"a","id":"lic_a","st":"created"}` + "\n" +
		`{"k":"license","s":"a","id":"lic_a","st":"done","h":"x"}` + "\n" +
		`{"k":"license","s":"b","id":"li`
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))

	ro, err := ReadJournal(path)
	require.NoError(t, err)
	assert.Equal(t, 1, ro.Len())
	raw, _ := os.ReadFile(path)
	assert.Equal(t, body, string(raw), "ReadJournal changes nothing")

	j, err := OpenJournal(path)
	require.NoError(t, err)
	e, ok := j.Lookup(KindLicense, "a")
	require.True(t, ok)
	assert.Equal(t, JournalEntry{Kind: KindLicense, SourceID: "a", ID: "lic_a", State: StateDone, Hash: "x"}, e, "the latest entry wins")
	_, ok = j.Lookup(KindLicense, "b")
	assert.False(t, ok)
	require.NoError(t, j.record(JournalEntry{Kind: KindLicense, SourceID: "b", ID: "lic_b", State: StateDone}))
	require.NoError(t, j.Close())
	raw, _ = os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Equal(t, `{"k":"license","s":"b","id":"lic_b","st":"done"}`, lines[3])

	j, err = OpenJournal(path)
	require.NoError(t, err)
	defer j.Close()
	assert.Equal(t, 2, j.Len())
}

// TestJournalCorruptLine: an unreadable line that is not the last one is an
// error, not silently skipped.
func TestJournalCorruptLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	require.NoError(t, os.WriteFile(path, []byte(testHeader+"{oops}\n"+`{"k":"license","s":"a","id":"lic_a","st":"done"}`+"\n"), 0o600))
	_, err := OpenJournal(path)
	require.ErrorIs(t, err, ErrJournalCorrupt)
	assert.Contains(t, err.Error(), "line 2")
	_, err = ReadJournal(path)
	require.ErrorIs(t, err, ErrJournalCorrupt)

	require.NoError(t, os.WriteFile(path, []byte(`{"k":"license","s":"a","id":"lic_a","st":"done"}`+"\n"), 0o600))
	_, err = OpenJournal(path)
	require.ErrorIs(t, err, ErrJournalCorrupt, "no header")
}

// TestJournalFile: the journal is created with mode 0600 and a missing one
// reads as empty.
func TestJournalFile(t *testing.T) {
	dir := t.TempDir()
	j, err := ReadJournal(filepath.Join(dir, "missing"))
	require.NoError(t, err)
	assert.Zero(t, j.Len())
	require.Error(t, j.begin(SystemKeygen, "test", ""), "a read-only journal is not written")
	_, err = os.Stat(filepath.Join(dir, "missing"))
	assert.True(t, os.IsNotExist(err))

	path := filepath.Join(dir, "journal")
	j, err = OpenJournal(path)
	require.NoError(t, err)
	require.NoError(t, j.begin(SystemKeygen, "test", "http://x/api/v1"))
	require.NoError(t, j.Close())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	j, err = OpenJournal(path)
	require.NoError(t, err)
	defer j.Close()
	require.ErrorIs(t, j.begin(SystemCryptlex, "test", "http://x/api/v1"), ErrJournalMismatch)
	require.ErrorIs(t, j.begin(SystemKeygen, "live", "http://x/api/v1"), ErrJournalMismatch)
	require.NoError(t, j.begin(SystemKeygen, "test", "http://x/api/v1"))
}
