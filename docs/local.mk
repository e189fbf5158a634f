## docs/local.mk -- manual pages and documents.
##
## Add each man page to the list of its section, one per line; "make
## check-docs" (build-aux/check-docs.sh) fails on a page in docs/man/ that
## is missing here, on any groff warning, on an exported sessnap_* symbol
## without its page docs/man/<symbol>.3, on a section-3 page out of the
## common form (title line, sections, "Link with" line), on a .TP whose
## tag goes on over two lines, and on a page or document that mentions a
## flag of <sessnap.h> without the function the flag's comment names.
## Markdown documents go to DOCS_MD.

# Section 1: programs.
dist_man1_MANS = \
	docs/man/sessnap.1 \
	docs/man/snapshot-clean.1

# Section 3: library functions, one page per exported symbol.
dist_man3_MANS =
dist_man3_MANS += docs/man/sessnap_store_load_generation.3
dist_man3_MANS += docs/man/sessnap_store_generations.3
dist_man3_MANS += docs/man/sessnap_generations_free.3
dist_man3_MANS += docs/man/sessnap_session_save_due.3
dist_man3_MANS += docs/man/sessnap_session_set_collect.3
dist_man3_MANS += docs/man/sessnap_session_status.3
dist_man3_MANS += docs/man/sessnap_session_touch.3
dist_man3_MANS += docs/man/sessnap_store_dispatch.3
dist_man3_MANS += docs/man/sessnap_store_next_deadline.3
dist_man3_MANS += docs/man/sessnap_store_tick.3
dist_man3_MANS += docs/man/sessnap_store_clean.3
dist_man3_MANS += docs/man/sessnap_clean_action_name.3
dist_man3_MANS += docs/man/sessnap.3
dist_man3_MANS += docs/man/sessnap_session_patch.3
dist_man3_MANS += docs/man/sessnap_session_patch_text.3
dist_man3_MANS += docs/man/sessnap_error_name.3
dist_man3_MANS += docs/man/sessnap_error_last.3
dist_man3_MANS += docs/man/sessnap_error_last_short.3
dist_man3_MANS += docs/man/sessnap_store_load.3
dist_man3_MANS += docs/man/sessnap_session_begin.3
dist_man3_MANS += docs/man/sessnap_session_end.3
dist_man3_MANS += docs/man/sessnap_session_flush.3
dist_man3_MANS += docs/man/sessnap_session_id.3
dist_man3_MANS += docs/man/sessnap_session_release.3
dist_man3_MANS += docs/man/sessnap_session_set_label.3
dist_man3_MANS += docs/man/sessnap_session_update.3
dist_man3_MANS += docs/man/sessnap_verdict_name.3
dist_man3_MANS += docs/man/sessnap_store_close.3
dist_man3_MANS += docs/man/sessnap_store_default_dir.3
dist_man3_MANS += docs/man/sessnap_store_open.3
dist_man3_MANS += docs/man/sessnap_store_options_init.3
dist_man3_MANS += docs/man/sessnap_store_path.3
dist_man3_MANS += docs/man/sessnap_store_app.3
dist_man3_MANS += docs/man/sessnap_error_string.3

# Section 5: file formats.
dist_man5_MANS =
dist_man5_MANS += docs/man/sessnap-format.5

DOCS_MD =
DOCS_MD += docs/design.md
DOCS_MD += docs/integration.md
DOCS_MD += docs/performance.md
DOCS_MD += docs/reliability.md
# Releasing: version nodes, -version-info and the ABI baseline.
DOCS_MD += docs/releasing.md
# Cleaning: the guide with the cron and systemd examples.
DOCS_MD += docs/cleaning.md
DOCS_MD += docs/format.md

EXTRA_DIST += $(DOCS_MD)

# systemd user units for the cleaner (see docs/cleaning.md).
SYSTEMD_UNITS = \
	docs/systemd/sessnap-clean.service \
	docs/systemd/sessnap-clean.timer
EXTRA_DIST += $(SYSTEMD_UNITS)
# Startup recovery: the scanner, adoption, discard and the prompt.
dist_man3_MANS += \
	docs/man/sessnap_store_discard.3 \
	docs/man/sessnap_prompt_run.3 \
	docs/man/sessnap_store_scan.3 \
	docs/man/sessnap_info_free.3 \
	docs/man/sessnap_load_info_free.3 \
	docs/man/sessnap_store_scan_key.3 \
	docs/man/sessnap_session_adopt.3
# States as JSON text.
dist_man3_MANS += \
	docs/man/sessnap_store_load_text.3 \
	docs/man/sessnap_session_adopt_text.3 \
	docs/man/sessnap_session_update_text.3
