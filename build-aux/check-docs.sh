#!/bin/sh
# check-docs.sh -- lint the manual (make check-docs).
#
# Usage: check-docs.sh RESULTS SRCDIR LIBRARY.so [LISTED_PAGE...]
#
# Checks, one result line each ("PASS: ..." or "FAIL: ..."), written to
# stdout and to RESULTS:
#   - every page SRCDIR/docs/man/*.[135] gives nothing on stderr from
#     "groff -man -ww -z" (all warnings on, no output);
#   - every such page is in LISTED_PAGE (the dist_manN_MANS lists of
#     docs/local.mk), so that it is installed and distributed;
#   - every listed page exists;
#   - every symbol that LIBRARY.so exports and whose name starts with
#     sessnap_ has its page docs/man/<symbol>.3;
#   - every section-3 page has one form (see check_page3 below): the
#     title line ".TH <page> 3 DATE "sessnap VERSION" "libsessnap Manual"",
#     the sections NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE, ERRORS,
#     EXAMPLE and SEE ALSO in that order, and the "Link with" line in its
#     SYNOPSIS;
#   - in every page, each .TP is followed by exactly one tag line: a tag
#     that goes on over a second line (".I a" / "and" / ".I b") is
#     rendered as a one-word tag with the rest run into the paragraph;
#   - every page and every document (docs/*.md, README.md) that mentions
#     a flag of <sessnap.h> names each function the flag's comment in the
#     header names ("Start no writer thread: the app drives saves with
#     sessnap_store_tick()"), so that no page tells another way.
# $GROFF and $NM name the tools (default: groff, nm).  Exits 1 on any
# failure.
set -u

results=$1
srcdir=$2
lib=$3
shift 3
GROFF=${GROFF:-groff}
NM=${NM:-nm}
: >"$results"
pass=0
fail=0

result() { # STATUS TEXT
	echo "$1: $2"
	echo "$1: $2" >>"$results"
	if test "$1" = PASS; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
}

listed=" $* "

if ! command -v "$GROFF" >/dev/null 2>&1; then
	result FAIL "groff not found: install it with: apt-get install groff-base"
else
	for page in "$srcdir"/docs/man/*.[135]; do
		test -f "$page" || continue
		name=docs/man/${page##*/}
		err=$(LC_ALL=C.UTF-8 "$GROFF" -man -ww -z "$page" 2>&1 >/dev/null)
		if test -n "$err"; then
			result FAIL "$name: groff warnings:"
			printf '%s\n' "$err" | sed 's/^/    /'
		else
			result PASS "$name: groff -man -ww -z"
		fi
		case $listed in
		*" $name "*) ;;
		*) result FAIL "$name: not listed in docs/local.mk (dist_man${name##*.}_MANS)" ;;
		esac
	done
fi

# check_page3 PAGE: the form every section-3 page shares.  Prints one
# line per fault, nothing when the page is right.
check_page3() {
	awk -v fn="$(basename "$1" .3)" '
	function fault(msg) { print msg; bad = 1 }
	/^\.TH / {
		nth++
		want = "^\\.TH " fn " 3 [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] " \
		    "\"sessnap [0-9][^\"]*\" \"libsessnap Manual\"$"
		if ($0 !~ want)
			fault("title is \"" $0 "\", not \".TH " fn \
			    " 3 DATE \"sessnap VERSION\" \"libsessnap Manual\"\"")
	}
	/^\.SH / {
		sec = substr($0, 5)
		gsub(/"/, "", sec)
		secs[++nsec] = sec
	}
	/^Link with \\fB\\-lsessnap\\fP/ && sec == "SYNOPSIS" { link = 1 }
	END {
		if (nth != 1)
			fault(nth + 0 " .TH lines, not one")
		n = split("NAME,SYNOPSIS,DESCRIPTION,RETURN VALUE,ERRORS," \
		    "EXAMPLE,SEE ALSO", req, ",")
		j = 1
		for (i = 1; i <= nsec && j <= n; i++)
			if (secs[i] == req[j])
				j++
		if (j <= n)
			fault("section " req[j] " is missing or out of order" \
			    " (want NAME, SYNOPSIS, DESCRIPTION, RETURN VALUE," \
			    " ERRORS, EXAMPLE, SEE ALSO)")
		if (!link)
			fault("no \"Link with \\fB\\-lsessnap\\fP\" line in" \
			    " its SYNOPSIS")
	}' "$1"
}

# check_tp PAGE: each .TP takes one tag line, then the paragraph.  A lone
# "and", "or" or "," right after the tag means the tag was meant to go on
# (".I a" / "and" / ".I b"); groff renders "a" as the tag and runs the
# rest into the paragraph.
check_tp() {
	awk '
	/^\.\\"/ { next }
	state == 1 {
		if ($0 ~ /^\.(TP|PP|P|LP|IP|SH|SS)( |$)/ || $0 == "")
			print FNR ": .TP without a tag line"
		state = 2
		tag = $0
		next
	}
	state == 2 {
		if ($0 ~ /^[ \t]*(and|or|,|, and|, or)[ \t]*$/)
			print FNR ": .TP tag \"" tag "\" goes on over a" \
			    " second line (\"" $0 "\"): write the whole tag" \
			    " on one line, e.g. .IR a \" and \" b"
		state = 0
	}
	/^\.TP( |$)/ { state = 1 }' "$1"
}

for page in "$srcdir"/docs/man/*.[135]; do
	test -f "$page" || continue
	name=docs/man/${page##*/}
	case $page in
	*.3)
		err=$(check_page3 "$page")
		if test -n "$err"; then
			result FAIL "$name: not in the form of the section-3 pages:"
			printf '%s\n' "$err" | sed 's/^/    /'
		else
			result PASS "$name: title, sections, Link with"
		fi
		;;
	esac
	err=$(check_tp "$page")
	if test -n "$err"; then
		result FAIL "$name: garbled .TP entries:"
		printf '%s\n' "$err" | sed 's/^/    /'
	else
		result PASS "$name: one tag line per .TP"
	fi
done

# The flags of <sessnap.h> whose comment names functions, one line each:
# "FLAG fn1 fn2 ...".  A comment is the /** ... */ right above the
# #define.
header=$srcdir/lib/include/sessnap.h
if ! test -f "$header"; then
	result FAIL "$header: missing"
else
	flags=$(awk '
	/\/\*\*/ { doc = ""; incom = 1 }
	incom { doc = doc " " $0 }
	/\*\// { incom = 0; last = FNR }
	/^#define SESSNAP_[A-Z0-9_]+ / && last == FNR - 1 {
		fns = ""
		d = doc
		while (match(d, /sessnap_[a-z0-9_]+\(\)/)) {
			fns = fns " " substr(d, RSTART, RLENGTH - 2)
			d = substr(d, RSTART + RLENGTH)
		}
		if (fns != "")
			print $2 fns
	}' "$header")
	docs=$(ls "$srcdir"/docs/man/*.[135] "$srcdir"/docs/*.md \
		"$srcdir"/README.md 2>/dev/null)
	printf '%s\n' "$flags" | while read -r flag fns; do
		test -n "$flag" || continue
		bad=
		for doc in $docs; do
			grep -q "$flag" "$doc" || continue
			for fn in $fns; do
				grep -q "$fn" "$doc" ||
					bad="$bad ${doc#"$srcdir"/}:$fn"
			done
		done
		if test -n "$bad"; then
			echo "FAIL: $flag: mentioned without the function" \
				"its comment in sessnap.h names:"
			for b in $bad; do
				echo "    ${b%:*} does not name ${b##*:}"
			done
		else
			echo "PASS: $flag: every mention names$fns"
		fi
	done >"$results.flags"
	while IFS= read -r line; do
		case $line in
		PASS:*) result PASS "${line#PASS: }" ;;
		FAIL:*) result FAIL "${line#FAIL: }" ;;
		*) echo "$line"; echo "$line" >>"$results" ;;
		esac
	done <"$results.flags"
	rm -f "$results.flags"
fi

for name in "$@"; do
	test -f "$srcdir/$name" ||
		result FAIL "$name: listed in docs/local.mk but missing"
done

if ! test -f "$lib"; then
	result FAIL "$lib: not built (run make first)"
else
	syms=$("$NM" -D --defined-only "$lib" |
		awk '$3 ~ /^sessnap_/ { print $3 }' | sed 's/@.*//' | sort -u)
	if test -z "$syms"; then
		result FAIL "$lib: exports no sessnap_* symbol"
	fi
	for sym in $syms; do
		if test -f "$srcdir/docs/man/$sym.3"; then
			result PASS "$sym: has docs/man/$sym.3"
		else
			result FAIL "$sym: exported but docs/man/$sym.3 is missing"
		fi
	done
fi

echo "check-docs: $pass ok, $fail failed"
test "$fail" -eq 0
