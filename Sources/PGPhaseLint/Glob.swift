#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Shell-style path patterns (`db/*.sql`), as `fnmatch(3)` reads them; a leading `./` is ignored.
public enum Glob {
  public static func matches(_ pattern: String, _ path: String) -> Bool {
    var p = path
    while p.hasPrefix("./") { p.removeFirst(2) }
    return fnmatch(pattern, p, 0) == 0 || fnmatch(pattern, path, 0) == 0
  }
}
