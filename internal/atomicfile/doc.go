// Package atomicfile writes files so that a reader, or a crash, never sees a
// torn or empty file: the bytes go to a temporary file in the same directory,
// which is flushed to disk and then renamed over the destination. A writer
// killed mid-write leaves its temporary file; the next Write of the same
// target removes those older than StaleTempAge.
package atomicfile
