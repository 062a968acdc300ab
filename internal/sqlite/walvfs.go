//go:build !mattn

package sqlite

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The writer connection opens its database through walVFS, SQLite's default
// (unix) VFS with one change: writes to a WAL file are gathered in a buffer
// and reach the file in one write(2) per walBufSize (7 frames of 16 KiB
// pages) or per transaction, instead of two per page.
//
// SQLite appends each page of a commit to the WAL as two writes, the
// 24-byte frame header and the page. On this project's VMs a system call
// costs 2–5 µs before it copies a byte, and the CVE ingest wrote ~1.4 WAL
// frames' worth of calls per record (docs/storage.md). Gathering them costs
// one copy of each page into the buffer.
//
// Nothing gets visible, or durable, later than before: the buffer is
// written out
//   - as soon as the page of a commit frame (a frame header whose "database
//     size after commit" field is not zero) is added, before SQLite goes on
//     to publish the transaction in the WAL index (so no other connection
//     can learn of a frame that is not in the file yet, and a failed write
//     fails the commit, as it did);
//   - before any other operation on the file (read, sync, truncate, size,
//     file control, lock, close), so the connection reads back what it
//     wrote when it spills pages mid-transaction;
//   - before a write that does not continue the buffered run, and when
//     the buffer is full.
//
// A crash of the process loses only frames of a transaction that had not
// committed, which SQLite discards at recovery anyway.
const walVFSName = "v2e-walbuf"

// walBufSize is the buffer of each WAL file written through walVFS: the
// most the unix VFS writes in one call (its seekAndWriteFd masks the length
// with 0x1ffff; a longer write is cut short and fails as SQLITE_FULL). That
// is 7 frames of 16 KiB pages per write(2) instead of 14 calls.
const walBufSize = 0x1ffff

// walFileHdr is what walVFS keeps in front of the default VFS's file
// object: its own methods pointer and a spare word.
const walFileHdr = 16

var (
	walVFSOnce sync.Once
	walVFSErr  error
	baseVFS    uintptr // the default VFS (unix)
	baseOpen   uintptr // its xOpen
	walMethods sqlite3.Tsqlite3_io_methods

	walFilesMu sync.Mutex
	walFiles   = map[uintptr]*walFile{} // by the sqlite3_file SQLite holds
)

// walFile is the state of one WAL file opened through walVFS.
type walFile struct {
	inner   uintptr // the default VFS's file object, walFileHdr bytes in
	methods *sqlite3.Tsqlite3_io_methods

	buf    uintptr // walBufSize bytes of C memory, allocated on first write
	n      int     // bytes buffered
	off    int64   // file offset of buf[0]
	commit int64   // offset of the page of a commit frame whose header was the last write; -1 when none
}

// registerWalVFS registers walVFS once per process.
func registerWalVFS() error {
	walVFSOnce.Do(func() { walVFSErr = doRegisterWalVFS() })
	return walVFSErr
}

func doRegisterWalVFS() error {
	tls := libc.NewTLS() // kept: SQLite holds the name and struct for the process's life
	baseVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
	if baseVFS == 0 {
		return fmt.Errorf("sqlite: no default VFS to wrap")
	}
	base := (*sqlite3.Tsqlite3_vfs)(ptr(baseVFS))
	baseOpen = base.FxOpen
	p := libc.Xmalloc(tls, uint64(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	name, err := libc.CString(walVFSName)
	if p == 0 || err != nil {
		return fmt.Errorf("sqlite: register VFS %s: out of memory", walVFSName)
	}
	v := (*sqlite3.Tsqlite3_vfs)(ptr(p))
	*v = *base
	v.FpNext = 0
	v.FzName = name
	v.FszOsFile = base.FszOsFile + walFileHdr
	setFunc(&v.FxOpen, walOpen)

	walMethods.FiVersion = 3
	setFunc(&walMethods.FxClose, walClose)
	setFunc(&walMethods.FxRead, walRead)
	setFunc(&walMethods.FxWrite, walWrite)
	setFunc(&walMethods.FxTruncate, walTruncate)
	setFunc(&walMethods.FxSync, walSync)
	setFunc(&walMethods.FxFileSize, walFileSize)
	setFunc(&walMethods.FxLock, walLock)
	setFunc(&walMethods.FxUnlock, walUnlock)
	setFunc(&walMethods.FxCheckReservedLock, walCheckReservedLock)
	setFunc(&walMethods.FxFileControl, walFileControl)
	setFunc(&walMethods.FxSectorSize, walSectorSize)
	setFunc(&walMethods.FxDeviceCharacteristics, walDeviceCharacteristics)
	setFunc(&walMethods.FxShmMap, walShmMap)
	setFunc(&walMethods.FxShmLock, walShmLock)
	setFunc(&walMethods.FxShmBarrier, walShmBarrier)
	setFunc(&walMethods.FxShmUnmap, walShmUnmap)
	setFunc(&walMethods.FxFetch, walFetch)
	setFunc(&walMethods.FxUnfetch, walUnfetch)

	if rc := sqlite3.Xsqlite3_vfs_register(tls, p, 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite: register VFS %s: code %d", walVFSName, rc)
	}
	return nil
}

// ptr turns an address in C memory into a pointer (the form modernc's
// transpiled C passes them in).
func ptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// setFunc stores fn in a C function-pointer slot, as modernc represents them.
func setFunc[F any](slot *uintptr, fn F) { *(*F)(unsafe.Pointer(slot)) = fn }

// fn reads a C function pointer as the Go function type F.
func fn[F any](p uintptr) F { return *(*F)(unsafe.Pointer(&p)) }

func walOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	open := fn[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32](baseOpen)
	if flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		// Every other file is the default VFS's own object, at the start of
		// the (larger) space SQLite gave: its methods are called directly.
		return open(tls, baseVFS, zName, pFile, flags, pOutFlags)
	}
	file := (*sqlite3.Tsqlite3_file)(ptr(pFile))
	inner := pFile + walFileHdr
	rc := open(tls, baseVFS, zName, inner, flags, pOutFlags)
	innerFile := (*sqlite3.Tsqlite3_file)(ptr(inner))
	if rc != sqlite3.SQLITE_OK || innerFile.FpMethods == 0 {
		file.FpMethods = 0 // SQLite then does not call xClose
		if rc == sqlite3.SQLITE_OK {
			rc = sqlite3.SQLITE_CANTOPEN
		}
		return rc
	}
	w := &walFile{inner: inner, methods: (*sqlite3.Tsqlite3_io_methods)(ptr(innerFile.FpMethods)), commit: -1}
	walFilesMu.Lock()
	walFiles[pFile] = w
	walFilesMu.Unlock()
	file.FpMethods = uintptr(unsafe.Pointer(&walMethods))
	return sqlite3.SQLITE_OK
}

func walLookup(pFile uintptr) *walFile {
	walFilesMu.Lock()
	w := walFiles[pFile]
	walFilesMu.Unlock()
	return w
}

// flush writes the buffered bytes to the file.
func (w *walFile) flush(tls *libc.TLS) int32 {
	if w.n == 0 {
		return sqlite3.SQLITE_OK
	}
	rc := w.write(tls, w.buf, int32(w.n), w.off)
	w.n = 0
	return rc
}

// write is the default VFS's xWrite on the file.
func (w *walFile) write(tls *libc.TLS, p uintptr, n int32, off int64) int32 {
	return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](w.methods.FxWrite)(tls, w.inner, p, n, off)
}

// frameHdrSize is the size of a WAL frame header; bytes 4–8 hold the
// database size after a commit, zero in other frames.
const frameHdrSize = 24

func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	w := walLookup(pFile)
	n := int(iAmt)
	commitPage := iOfst == w.commit
	w.commit = -1
	if w.n > 0 && (iOfst != w.off+int64(w.n) || w.n+n > walBufSize) {
		if rc := w.flush(tls); rc != sqlite3.SQLITE_OK {
			return rc
		}
	}
	if n > walBufSize {
		return w.write(tls, zBuf, iAmt, iOfst)
	}
	if w.buf == 0 {
		if w.buf = libc.Xmalloc(tls, walBufSize); w.buf == 0 {
			return sqlite3.SQLITE_IOERR_NOMEM
		}
	}
	if w.n == 0 {
		w.off = iOfst
	}
	src := unsafe.Slice((*byte)(ptr(zBuf)), n)
	copy(unsafe.Slice((*byte)(ptr(w.buf+uintptr(w.n))), n), src)
	w.n += n
	if commitPage {
		// The page of a commit frame: the transaction's frames are all
		// here, and SQLite publishes them once this write returns.
		return w.flush(tls)
	}
	if n == frameHdrSize && binary.BigEndian.Uint32(src[4:8]) != 0 {
		w.commit = iOfst + frameHdrSize
	}
	return sqlite3.SQLITE_OK
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	w := walLookup(pFile)
	rc := w.flush(tls)
	if w.buf != 0 {
		libc.Xfree(tls, w.buf)
		w.buf = 0
	}
	rc2 := fn[func(*libc.TLS, uintptr) int32](w.methods.FxClose)(tls, w.inner)
	walFilesMu.Lock()
	delete(walFiles, pFile)
	walFilesMu.Unlock()
	if rc != sqlite3.SQLITE_OK {
		return rc
	}
	return rc2
}

// afterFlush writes out the file's buffer, then runs call (the default
// VFS's method) unless that write failed.
func afterFlush(tls *libc.TLS, pFile uintptr, call func(w *walFile) int32) int32 {
	w := walLookup(pFile)
	if rc := w.flush(tls); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return call(w)
}

func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](w.methods.FxRead)(tls, w.inner, zBuf, iAmt, iOfst)
	})
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int64) int32](w.methods.FxTruncate)(tls, w.inner, size)
	})
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32) int32](w.methods.FxSync)(tls, w.inner, flags)
	})
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, uintptr) int32](w.methods.FxFileSize)(tls, w.inner, pSize)
	})
}

func walLock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32) int32](w.methods.FxLock)(tls, w.inner, lock)
	})
}

func walUnlock(tls *libc.TLS, pFile uintptr, lock int32) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32) int32](w.methods.FxUnlock)(tls, w.inner, lock)
	})
}

func walCheckReservedLock(tls *libc.TLS, pFile, pResOut uintptr) int32 {
	w := walLookup(pFile)
	return fn[func(*libc.TLS, uintptr, uintptr) int32](w.methods.FxCheckReservedLock)(tls, w.inner, pResOut)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32, uintptr) int32](w.methods.FxFileControl)(tls, w.inner, op, pArg)
	})
}

func walSectorSize(tls *libc.TLS, pFile uintptr) int32 {
	w := walLookup(pFile)
	return fn[func(*libc.TLS, uintptr) int32](w.methods.FxSectorSize)(tls, w.inner)
}

func walDeviceCharacteristics(tls *libc.TLS, pFile uintptr) int32 {
	w := walLookup(pFile)
	return fn[func(*libc.TLS, uintptr) int32](w.methods.FxDeviceCharacteristics)(tls, w.inner)
}

// The shared-memory and memory-map methods belong to database files; SQLite
// does not call them on a WAL file. They pass through all the same.

func walShmMap(tls *libc.TLS, pFile uintptr, iPg, pgsz, bExtend int32, pp uintptr) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32, int32, int32, uintptr) int32](w.methods.FxShmMap)(tls, w.inner, iPg, pgsz, bExtend, pp)
	})
}

func walShmLock(tls *libc.TLS, pFile uintptr, offset, n, flags int32) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32, int32, int32) int32](w.methods.FxShmLock)(tls, w.inner, offset, n, flags)
	})
}

func walShmBarrier(tls *libc.TLS, pFile uintptr) {
	w := walLookup(pFile)
	w.flush(tls)
	fn[func(*libc.TLS, uintptr)](w.methods.FxShmBarrier)(tls, w.inner)
}

func walShmUnmap(tls *libc.TLS, pFile uintptr, deleteFlag int32) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int32) int32](w.methods.FxShmUnmap)(tls, w.inner, deleteFlag)
	})
}

func walFetch(tls *libc.TLS, pFile uintptr, iOfst int64, iAmt int32, pp uintptr) int32 {
	return afterFlush(tls, pFile, func(w *walFile) int32 {
		return fn[func(*libc.TLS, uintptr, int64, int32, uintptr) int32](w.methods.FxFetch)(tls, w.inner, iOfst, iAmt, pp)
	})
}

func walUnfetch(tls *libc.TLS, pFile uintptr, iOfst int64, p uintptr) int32 {
	w := walLookup(pFile)
	return fn[func(*libc.TLS, uintptr, int64, uintptr) int32](w.methods.FxUnfetch)(tls, w.inner, iOfst, p)
}
