//! TinyTotVM's opcodes that ttvm does not implement, each with a pointer to
//! what to use instead (the assembler's message for them).

/// What to use instead of a group of TinyTotVM opcodes ttvm does not have.
mod instead {
    pub const ASYNC: &str = "TinyTotVM's futures were simulated (the work happened at AWAIT); read and write directly (READ_FILE, WRITE_FILE), or SPAWN a process that does the I/O and SENDs the result back";
    pub const STREAM: &str = "TinyTotVM's streams were placeholders that moved no data; use READ_FILE / WRITE_FILE / APPEND_FILE, or READ_BYTES / WRITE_BYTES for binary data";
    pub const COMPRESS: &str = "TinyTotVM's COMPRESS/DECOMPRESS were placeholders that compressed nothing; run a real tool with EXEC (e.g. `gzip`) on a file";
    pub const CRYPT: &str = "TinyTotVM's ENCRYPT/DECRYPT were placeholders that encrypted nothing; HASH gives a SHA-256 digest, and a real tool (e.g. `openssl`) can be run with EXEC_CAPTURE";
    pub const DB: &str = "ttvm has no database access; run a database client with EXEC_CAPTURE (e.g. `sqlite3 FILE QUERY`) and parse its output (CSV_PARSE, JSON_PARSE)";
    pub const SUPERVISOR: &str = "use `IMPORT std/supervisor` (real supervisors with restart strategies: see docs/PROCESSES.md)";
}

/// Every TinyTotVM opcode that ttvm does not implement, with what to use
/// instead: the assembler reports ``X` is a TinyTotVM opcode that is not
/// part of ttvm` and the pointer, never "unknown opcode" or a "did you
/// mean". An opcode that ttvm implements must not be listed (a test checks
/// both ways against TinyTotVM's full instruction set).
pub static TINYTOTVM_ONLY: &[(&str, &str)] = &[
    ("ASYNC_READ", instead::ASYNC),
    ("ASYNC_WRITE", instead::ASYNC),
    ("AWAIT", instead::ASYNC),
    ("STREAM_CREATE", instead::STREAM),
    ("STREAM_READ", instead::STREAM),
    ("STREAM_WRITE", instead::STREAM),
    ("STREAM_CLOSE", instead::STREAM),
    ("COMPRESS", instead::COMPRESS),
    ("DECOMPRESS", instead::COMPRESS),
    ("ENCRYPT", instead::CRYPT),
    ("DECRYPT", instead::CRYPT),
    ("DB_CONNECT", instead::DB),
    ("DB_QUERY", instead::DB),
    ("DB_EXEC", instead::DB),
    ("START_SUPERVISOR", instead::SUPERVISOR),
    ("SUPERVISE_CHILD", instead::SUPERVISOR),
    ("RESTART_CHILD", instead::SUPERVISOR),
];

/// What to use instead of TinyTotVM opcode `mnemonic` (exact, upper case),
/// when ttvm does not implement it.
pub fn tinytotvm_only(mnemonic: &str) -> Option<&'static str> {
    TINYTOTVM_ONLY
        .iter()
        .find(|(m, _)| *m == mnemonic)
        .map(|(_, instead)| *instead)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::Opcode;

    /// Every mnemonic TinyTotVM's assembler accepts (its `src/bytecode.rs`
    /// at commit 23bae66), to hold `TINYTOTVM_ONLY` to the truth both ways.
    const TINYTOTVM_MNEMONICS: &str = "ADD ADD_F AND APPEND_FILE ASYNC_READ ASYNC_WRITE AWAIT CALL \
        CALL_FUNCTION CAPTURE CATCH COMPRESS CONCAT CSV_PARSE CSV_WRITE DB_CONNECT DB_EXEC DB_QUERY \
        DECOMPRESS DECRYPT DELETE DELETE_FIELD DELETE_FILE DEMONITOR DIV DIV_F DNS_RESOLVE DUMP_SCOPE \
        DUP ENCRYPT END_TRY EQ EQ_F EXEC EXEC_CAPTURE EXIT EXPORT FALSE FILE_EXISTS FILE_SIZE \
        FORMAT_TIME GE GE_F GET_ARGS GET_ENV GET_FIELD GET_TIME GT GT_F HALT HASH HAS_FIELD HTTP_GET \
        HTTP_POST IMPORT INDEX JMP JSON_PARSE JSON_STRINGIFY JZ KEYS LE LEN LE_F LINK LIST_DIR LOAD \
        LT LT_F MAKE_FUNCTION MAKE_LAMBDA MAKE_LIST MAKE_OBJECT MONITOR MUL MUL_F NE NE_F NOT NULL OR \
        PRINT PUSH_BOOL PUSH_FLOAT PUSH_INT PUSH_STR READ_BYTES READ_CHAR READ_FILE READ_INPUT \
        READ_LINE RECEIVE REGISTER RESTART_CHILD RET SEND SENDNAMED SET_ENV SET_FIELD SLEEP SPAWN \
        START_SUPERVISOR STORE STREAM_CLOSE STREAM_CREATE STREAM_READ STREAM_WRITE SUB SUB_F \
        SUPERVISE_CHILD TCP_CONNECT TCP_LISTEN TCP_RECV TCP_SEND THROW TRAP_EXIT TRUE TRY UDP_BIND \
        UDP_RECV UDP_SEND UNLINK UNREGISTER WHEREIS WRITE_BYTES WRITE_FILE YIELD";

    #[test]
    fn every_tinytotvm_opcode_is_implemented_or_rejected_with_a_pointer() {
        let theirs: Vec<&str> = TINYTOTVM_MNEMONICS.split_whitespace().collect();
        assert_eq!(theirs.len(), 127);
        for m in &theirs {
            let ours = Opcode::from_mnemonic(m).is_some();
            let rejected = tinytotvm_only(m).is_some();
            assert!(
                ours != rejected,
                "{m}: implemented {ours}, rejected {rejected}"
            );
        }
        for (m, instead) in TINYTOTVM_ONLY {
            assert!(theirs.contains(m), "{m} is not a TinyTotVM opcode");
            assert!(!instead.is_empty());
        }
    }
}
