# jq's definitions where jaq has none or differs; loaded after jaq's own.
# setpath and delpaths are native (src/query/paths.rs), with jq's rules.
def setpath($path; $x): _fkit_setpath($path; $x);
def delpaths($paths): _fkit_delpaths($paths);
def env: $ENV;
def have_decnum: true;
def have_literal_numbers: true;
def del(f): delpaths([path(f)]);
def pick(pathexps): . as $top
  | reduce path(pathexps) as $p (null; setpath($p; $top | getpath($p)));
def trimstr($x): ltrimstr($x) | rtrimstr($x);
def join($x): reduce .[] as $i (null;
    (if . == null then "" else . + $x end)
    + ($i | if . == null then "" elif type == "string" then . else tojson end)
  ) // "";
def tostream: path(def r: (.[]? | r), .; r) as $p
  | getpath($p)
  | reduce path(.[]?) as $q ([$p, .]; [$p + $q]);
def fromstream(f): { x: null, e: false } as $init
  | foreach f as $i ($init;
      if .e then $init else . end
      | if $i | length == 2
        then setpath(["e"]; $i[0] | length == 0) | setpath(["x"] + $i[0]; $i[1])
        else setpath(["e"]; $i[0] | length == 1) end;
      if .e then .x else empty end);
def truncate_stream(stream): . as $n | null | stream | . as $input
  | if (.[0] | length) > $n then setpath([0]; .[0][$n:]) else empty end;
def leaf_paths: paths(scalars);
def isvalid(f): try (f | true) catch false;
def ascii: [.] | implode;
def @csv: if type != "array" then error("\(type) (\(tojson)) cannot be csv-formatted, only an array can be") else
  map(if type == "string" then "\"" + gsub("\""; "\"\"") + "\""
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a csv row") end)
  | join(",") end;
def @tsv: if type != "array" then error("\(type) (\(tojson)) cannot be tsv-formatted, only an array can be") else
  map(if type == "string" then gsub("\\\\"; "\\\\") | gsub("\t"; "\\t") | gsub("\n"; "\\n") | gsub("\r"; "\\r")
      elif type == "number" or type == "boolean" then tojson
      elif . == null then ""
      else error("\(type) (\(tojson)) is not valid in a tsv row") end)
  | join("\t") end;
# Assignments (the user's `a = b`, `a |= f`, `a += b`, … become these calls,
# see assign.rs): jaq's update first; where it fails (null on the path, an
# index past the end), jq's definition in terms of paths.
def _fkit_assign(paths; $v): . as $in | try (paths = $v) catch
  ($in | reduce path(paths) as $p (.; setpath($p; $v)));
def _fkit_modify(paths; f): . as $in | try (paths |= f) catch
  ($in | reduce path(paths) as $p (.; . as $x | label $out
    | (setpath($p; $x | getpath($p) | f) | ., break $out), delpaths([$p])));
def _fkit_add(paths; $v): _fkit_modify(paths; . + $v);
def _fkit_sub(paths; $v): _fkit_modify(paths; . - $v);
def _fkit_mul(paths; $v): _fkit_modify(paths; . * $v);
def _fkit_div(paths; $v): _fkit_modify(paths; . / $v);
def _fkit_mod(paths; $v): _fkit_modify(paths; . % $v);
def _fkit_alt(paths; $v): _fkit_modify(paths; . // $v);
