## tests/fuzz/local.mk -- libFuzzer targets, built with clang by "make fuzz".
##
## Each target compiles the library sources together with its harness under
## -fsanitize=fuzzer,address,undefined, so it does not touch the normal
## build.  tests/fuzz/run.sh runs them (60 s each by default).

FUZZ_TARGETS = tests/fuzz/fuzz_header$(EXEEXT) tests/fuzz/fuzz_load$(EXEEXT) \
	tests/fuzz/fuzz_age$(EXEEXT) tests/fuzz/fuzz_header_diff$(EXEEXT) \
	tests/fuzz/fuzz_delta$(EXEEXT) tests/fuzz/fuzz_slot$(EXEEXT) \
	tests/fuzz/fuzz_seqs$(EXEEXT)
FUZZ_CC_FLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(top_builddir) -I$(top_srcdir)/lib -I$(top_srcdir)/lib/include \
	$(LIB_DEP_CFLAGS)
# The library's own dependency lists (lib/local.mk), so that a dependency
# added to the library reaches the fuzz targets too.
FUZZ_LINK = $(LIB_DEP_LIBS) -pthread

EXTRA_DIST += tests/fuzz/fuzz_header.c tests/fuzz/fuzz_load.c \
	tests/fuzz/fuzz_age.c tests/fuzz/fuzz_header_diff.c \
	tests/fuzz/fuzz_delta.c tests/fuzz/fuzz_slot.c tests/fuzz/fuzz_seqs.c \
	tests/fuzz/header_diff.dict tests/fuzz/delta.dict tests/fuzz/slot.dict \
	tests/fuzz/delta.options tests/fuzz/run.sh tests/fuzz/corpus
CLEANFILES += $(FUZZ_TARGETS)

fuzz: $(FUZZ_TARGETS)

# One rule per target (automake refuses %-pattern rules).
FUZZ_BUILD = \
	if test -z '$(CLANG)'; then \
	  echo "fuzz: clang not found: install it with: apt-get install clang libclang-rt-14-dev" >&2; \
	  exit 1; \
	fi; \
	mkdir -p tests/fuzz && \
	srcs=; \
	for f in $(lib_libsessnap_internal_la_SOURCES); do \
	  case $$f in *.c) srcs="$$srcs $(srcdir)/$$f";; esac; \
	done; \
	$(CLANG) $(FUZZ_CC_FLAGS) -o $@ \
	  $(srcdir)/tests/fuzz/`basename $@ $(EXEEXT)`.c $$srcs $(FUZZ_LINK)
FUZZ_DEPS = $(lib_libsessnap_internal_la_SOURCES) config.h

tests/fuzz/fuzz_header$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_header.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)
tests/fuzz/fuzz_load$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_load.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)
tests/fuzz/fuzz_header_diff$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_header_diff.c \
		$(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)
# The delta layout's reader (header, slots, base, records) and its slots.
tests/fuzz/fuzz_delta$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_delta.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)
tests/fuzz/fuzz_slot$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_slot.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)
# The writer's codec: records from the kept matches, decoded by zstd.
tests/fuzz/fuzz_seqs$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_seqs.c $(FUZZ_DEPS)
	$(AM_V_CCLD)$(FUZZ_BUILD)

# The age parser belongs to the command line: it is built with cli/age.c,
# and with the words the commands print ages in (lib/words.c).
tests/fuzz/fuzz_age$(EXEEXT): $(srcdir)/tests/fuzz/fuzz_age.c \
		$(srcdir)/cli/age.c $(srcdir)/cli/age.h $(srcdir)/lib/words.c \
		$(srcdir)/lib/words.h config.h
	$(AM_V_CCLD)mkdir -p tests/fuzz && \
	$(CLANG) $(FUZZ_CC_FLAGS) -I$(top_srcdir)/cli -I$(top_srcdir)/lib \
	  $(BSD_CFLAGS) -o $@ $(srcdir)/tests/fuzz/fuzz_age.c \
	  $(srcdir)/cli/age.c $(srcdir)/lib/words.c $(BSD_LIBS)

clean-fuzz:
	rm -rf tests/fuzz/findings

.PHONY: fuzz clean-fuzz
