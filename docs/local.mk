## docs/local.mk -- manual pages and documents.
##
## Add each man page to the list of its section, one per line; "make
## check-docs" fails on a page in docs/man/ that is missing here, on any
## groff warning, and on an exported sessnap_* symbol without its page
## docs/man/<symbol>.3.  Markdown documents go to DOCS_MD.

# Section 1: programs.
dist_man1_MANS =

# Section 3: library functions, one page per exported symbol.
dist_man3_MANS =

# Section 5: file formats.
dist_man5_MANS =

DOCS_MD =
DOCS_MD += docs/design.md
DOCS_MD += docs/reliability.md

EXTRA_DIST += $(DOCS_MD)
