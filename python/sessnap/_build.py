"""Build the cffi extension ``sessnap._sessnap`` (out-of-line API mode).

Run by setup.py (``cffi_modules``).  Which library it compiles against:

* ``SESSNAP_BUILD_TREE=/path/to/sessnap`` (a built source tree): the
  header in ``lib/include`` and the library in ``lib/.libs``, found again
  at run time through an rpath, so the tests run against the in-tree
  library without installing it;
* otherwise the installed library, through ``pkg-config sessnap``
  (``PKG_CONFIG_PATH`` picks a prefix).
"""

import os
import shlex
import subprocess

from cffi import FFI

CDEF = r"""
typedef enum {
    SESSNAP_OK, SESSNAP_EINVAL, SESSNAP_ENOMEM, SESSNAP_EIO, SESSNAP_ENOSPC,
    SESSNAP_EPERM, SESSNAP_EUNSAFE, SESSNAP_ENOTFOUND, SESSNAP_EBUSY,
    SESSNAP_ECORRUPT, SESSNAP_ENEWER, SESSNAP_ETOOBIG, SESSNAP_EBADNAME,
    SESSNAP_ESTATE, SESSNAP_EDURABILITY, SESSNAP_EREJECTED, SESSNAP_EMIGRATE,
    SESSNAP_EFOREIGN, SESSNAP_ENOSTATE, SESSNAP_EPENDING, SESSNAP_EFENCED,
    SESSNAP_EPATCH,
    ...
} sessnap_error;

typedef enum {
    SESSNAP_DURABILITY_FULL = 0,
    SESSNAP_DURABILITY_FILE = 1,
    SESSNAP_DURABILITY_NONE = 2
} sessnap_durability;

typedef enum {
    SESSNAP_LOG_DEBUG = 0,
    SESSNAP_LOG_INFO = 1,
    SESSNAP_LOG_WARNING = 2,
    SESSNAP_LOG_ERROR = 3
} sessnap_log_level;

#define SESSNAP_ID_LEN 32
#define SESSNAP_LABEL_MAX 256
#define SESSNAP_HOST_MAX 255
#define SESSNAP_KEY_MAX 512
#define SESSNAP_FORMAT_VERSION 2
#define SESSNAP_STORE_OPTIONS_VERSION ...
#define SESSNAP_SESSION_OPTIONS_VERSION ...
#define SESSNAP_PROMPT_OPTIONS_VERSION ...
#define SESSNAP_CLEAN_POLICY_VERSION ...
#define SESSNAP_CLEAN_REPORT_VERSION ...
#define SESSNAP_SAVE_STATUS_VERSION ...
#define SESSNAP_STORE_NOCREATE ...
#define SESSNAP_STORE_NOTHREAD ...
#define SESSNAP_STORE_READONLY ...
#define SESSNAP_STORE_SHARED ...
#define SESSNAP_STORE_LOCAL ...
#define SESSNAP_SESSION_KEEP ...
#define SESSNAP_SCAN_RECOVERABLE ...
#define SESSNAP_INFO_FROM_PREV ...
#define SESSNAP_INFO_NOT_REGULAR ...
#define SESSNAP_INFO_TOOBIG ...
#define SESSNAP_INFO_UNREADABLE ...
#define SESSNAP_LOAD_FROM_PREV ...
#define SESSNAP_LOAD_FROM_OLDER ...
#define SESSNAP_INFO_FROM_OLDER ...
#define SESSNAP_INFO_TAKEN_OVER ...
#define SESSNAP_GENERATIONS_MAX ...
#define SESSNAP_LOAD_MIGRATED ...
#define SESSNAP_CLEAN_DRY_RUN ...
#define SESSNAP_CLEAN_INCLUDE_CORRUPT ...

typedef void (*sessnap_log_cb)(sessnap_log_level level, const char *message,
                               void *payload);
typedef int (*sessnap_migrate_text_cb)(char **state, size_t *state_len,
                                       unsigned int from_version,
                                       unsigned int to_version,
                                       void *payload);
typedef int (*sessnap_validate_text_cb)(const char *state, size_t state_len,
                                        unsigned int schema_version,
                                        void *payload);

typedef struct {
    unsigned int version;
    const char *dir;
    const char *app;
    sessnap_durability durability;
    unsigned int autosave_interval_ms;
    size_t read_bound;
    unsigned int schema_version;
    unsigned int flags;
    sessnap_log_cb log;
    void *payload;
    sessnap_migrate_text_cb migrate_text;
    sessnap_validate_text_cb validate_text;
    unsigned int generations;
    unsigned int lease_period_ms;
    ...;
} sessnap_store_options;

typedef struct sessnap_store sessnap_store;
typedef struct sessnap_session sessnap_session;

typedef struct {
    unsigned int version;
    const char *label;
    unsigned int flags;
    const void *key;
    size_t key_len;
    ...;
} sessnap_session_options;

typedef struct {
    int64_t pid;
    char host[...];
    char boot_id[...];
    uint64_t start_time;
    ...;
} sessnap_owner;

typedef enum {
    SESSNAP_VERDICT_RUNNING = 0,
    SESSNAP_VERDICT_CRASHED = 1,
    SESSNAP_VERDICT_COMPLETED = 2,
    SESSNAP_VERDICT_FOREIGN = 3,
    SESSNAP_VERDICT_NEWER = 4,
    SESSNAP_VERDICT_CORRUPT = 5
} sessnap_verdict;

typedef struct {
    size_t size;
    char id[...];
    sessnap_verdict status;
    unsigned int flags;
    char *label;
    int64_t created_ms;
    int64_t saved_ms;
    uint64_t seq;
    uint32_t adoptions;
    uint32_t format_version;
    uint32_t schema_version;
    sessnap_owner owner;
    uint64_t payload_bytes;
    uint64_t file_bytes;
    int64_t mtime_ms;
    unsigned char *key;
    size_t key_len;
    unsigned int generation;
    int64_t lease_age_ms;
    uint32_t lease_period_ms;
    uint64_t lease_renewals;
    ...;
} sessnap_info;

typedef struct {
    size_t size;
    unsigned int flags;
    uint64_t seq;
    uint32_t schema_version;
    uint32_t adoptions;
    int64_t created_ms;
    int64_t saved_ms;
    int completed;
    sessnap_owner owner;
    char *label;
    char notice[...];
    unsigned char *key;
    size_t key_len;
    unsigned int generation;
    ...;
} sessnap_load_info;

typedef struct {
    unsigned int generation;
    int verdict;
    char reason[...];
    uint64_t seq;
    int64_t saved_ms;
    uint64_t file_bytes;
    ...;
} sessnap_generation;

typedef struct {
    unsigned int version;
    int last_error;
    char last_message[...];
    int pending;
    unsigned int failures;
    int64_t retry_in_ms;
    int64_t durable_age_ms;
    uint64_t seq;
    uint64_t saves;
    uint64_t skips;
    int lease_error;
    char lease_message[...];
    unsigned int lease_failures;
    unsigned int lease_period_ms;
    int64_t lease_age_ms;
    ...;
} sessnap_save_status;

typedef enum {
    SESSNAP_PROMPT_NOTHING = 0,
    SESSNAP_PROMPT_RESTORE = 1,
    SESSNAP_PROMPT_LATER = 2,
    SESSNAP_PROMPT_DISCARDED = 3,
    SESSNAP_PROMPT_DEFAULT = 4
} sessnap_prompt_answer;

typedef struct {
    unsigned int version;
    FILE *in;
    FILE *out;
    const char *app_name;
    int assume_tty;
    const void *key;
    size_t key_len;
    ...;
} sessnap_prompt_options;

typedef int... sessnap_clean_action;
typedef int... sessnap_clean_file;

typedef struct {
    unsigned int version;
    int64_t completed_age_ms;
    int64_t crashed_age_ms;
    int64_t temp_age_ms;
    unsigned int keep;
    unsigned int flags;
    int64_t now_ms;
    ...;
} sessnap_clean_policy;

typedef struct {
    const char *name;
    const char *id;
    sessnap_clean_action action;
    sessnap_clean_file file;
    int error;
    uint64_t bytes;
    int64_t age_ms;
    int dry_run;
    ...;
} sessnap_clean_event;

typedef void (*sessnap_clean_cb)(const sessnap_clean_event *event,
                                 void *payload);

typedef struct {
    unsigned int version;
    uint64_t removed_completed;
    uint64_t removed_crashed;
    uint64_t removed_corrupt;
    uint64_t removed_temp;
    uint64_t removed_lock;
    uint64_t kept_running;
    uint64_t kept_young;
    uint64_t kept_newest;
    uint64_t kept_newer;
    uint64_t kept_corrupt;
    uint64_t kept_foreign;
    uint64_t skipped_unsafe;
    uint64_t failed;
    uint64_t files_removed;
    uint64_t bytes_freed;
    ...;
} sessnap_clean_report;

const char *sessnap_error_string(int code);
const char *sessnap_error_name(int code);
const char *sessnap_error_last(void);
const char *sessnap_error_last_short(void);

int sessnap_store_options_init(sessnap_store_options *opts,
                               unsigned int version);
int sessnap_store_open(sessnap_store **out,
                       const sessnap_store_options *opts);
int sessnap_store_close(sessnap_store *store);
const char *sessnap_store_path(const sessnap_store *store);
int sessnap_store_default_dir(char **out, const char *app);

int sessnap_session_begin(sessnap_session **out, sessnap_store *store,
                          const sessnap_session_options *opts);
const char *sessnap_session_id(const sessnap_session *session);
int sessnap_session_set_label(sessnap_session *session, const char *label);
int sessnap_session_update_text(sessnap_session *session, const char *json,
                                size_t len);
int sessnap_session_flush(sessnap_session *session);

typedef enum {
    SESSNAP_PATCH_ADD, SESSNAP_PATCH_REPLACE, SESSNAP_PATCH_REMOVE, ...
} sessnap_patch_kind;

typedef struct {
    sessnap_patch_kind op;
    const char *path;
    const char *value;
    size_t value_len;
    ...;
} sessnap_patch_text_op;

int sessnap_session_patch_text(sessnap_session *session,
                               const sessnap_patch_text_op *ops,
                               size_t n_ops);
int sessnap_session_end(sessnap_session *session, unsigned int flags);
void sessnap_session_release(sessnap_session *session);
int sessnap_session_touch(sessnap_session *session);
int sessnap_session_save_due(const sessnap_session *session);
int sessnap_session_status(sessnap_save_status *out,
                           const sessnap_session *session);
int sessnap_store_tick(sessnap_store *store);

const char *sessnap_verdict_name(sessnap_verdict status);
int sessnap_store_scan(sessnap_info ***out, size_t *out_count, sessnap_store *store,
                 unsigned int flags);
int sessnap_store_scan_key(sessnap_info ***out, size_t *out_count,
                     sessnap_store *store, unsigned int flags,
                     const void *key, size_t key_len);
void sessnap_info_free(sessnap_info **infos, size_t count);
void sessnap_load_info_free(sessnap_load_info *info);
int sessnap_store_generations(sessnap_generation **out, size_t *out_count,
                        sessnap_store *store, const char *id);
void sessnap_generations_free(sessnap_generation *gens);
int sessnap_store_load_text(char **out, size_t *out_len, sessnap_load_info **info,
                      sessnap_store *store, const char *id);
int sessnap_session_adopt_text(sessnap_session **out, char **state,
                               size_t *state_len, sessnap_load_info **info,
                               sessnap_store *store, const char *id);
int sessnap_store_discard(sessnap_store *store, const char *id);
int sessnap_prompt_run(char out[], sessnap_prompt_answer *answer,
                            sessnap_store *store,
                            const sessnap_prompt_options *opts);
int sessnap_store_clean(sessnap_clean_report *out, sessnap_store *store,
                  const sessnap_clean_policy *policy, sessnap_clean_cb cb,
                  void *payload);
const char *sessnap_clean_action_name(sessnap_clean_action action);

/* libc, for the buffers the library allocates or takes over, the
   prompt's streams, and the GIL test */
void *malloc(size_t size);
void free(void *ptr);
FILE *fdopen(int fd, const char *mode);
int fclose(FILE *stream);
int fflush(FILE *stream);
int dup(int fd);
int usleep(unsigned int usec);

extern "Python" void _log_cb(sessnap_log_level, const char *, void *);
extern "Python" int _migrate_cb(char **, size_t *, unsigned int,
                                unsigned int, void *);
extern "Python" int _validate_cb(const char *, size_t, unsigned int, void *);
extern "Python" void _clean_cb(const sessnap_clean_event *, void *);
"""

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sessnap.h>
"""


def _pkg_config(*args):
    out = subprocess.run(["pkg-config", *args], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return shlex.split(out)


def _flags():
    tree = os.environ.get("SESSNAP_BUILD_TREE")
    if tree:
        tree = os.path.abspath(tree)
        libdir = os.path.join(tree, "lib", ".libs")
        cflags = ["-I" + os.path.join(tree, "lib", "include")]
        cflags += _pkg_config("--cflags", "json-c")
        libs = ["-L" + libdir, "-lsessnap"] + _pkg_config("--libs", "json-c")
        rpath = [libdir]
    else:
        cflags = _pkg_config("--cflags", "sessnap")
        libs = _pkg_config("--libs", "sessnap")
        rpath = [a[2:] for a in _pkg_config("--libs-only-L", "sessnap")]
    kw = {"include_dirs": [], "library_dirs": [], "libraries": [],
          "extra_compile_args": [], "extra_link_args": [],
          "runtime_library_dirs": rpath}
    for a in cflags:
        if a.startswith("-I"):
            kw["include_dirs"].append(a[2:])
        else:
            kw["extra_compile_args"].append(a)
    for a in libs:
        if a.startswith("-L"):
            kw["library_dirs"].append(a[2:])
        elif a.startswith("-l"):
            kw["libraries"].append(a[2:])
        else:
            kw["extra_link_args"].append(a)
    return kw


ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source("sessnap._sessnap", SOURCE, **_flags())

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
