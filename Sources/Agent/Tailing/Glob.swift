import Foundation

/// Shell-style file patterns (`/var/log/app/*.log`), via the C library's glob and fnmatch, plus
/// `**` for any number of directories (`/var/log/**/*.log`), which the C library lacks.
enum Glob {
    static func expand(_ pattern: String) -> [String] {
        if let recursive = pattern.range(of: "**") { return expandRecursive(pattern, recursive) }
        var result = glob_t()
        defer { globfree(&result) }
        guard glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            result.gl_pathv[index].map { String(cString: $0) }
        }
    }

    /// Walks the directory before the first `**` (its own prefix expanded by glob) and keeps what matches.
    static func expandRecursive(_ pattern: String, _ recursive: Range<String.Index>) -> [String] {
        let head = String(pattern[..<recursive.lowerBound])
        let base = head.hasSuffix("/") ? String(head.dropLast()) : (head as NSString).deletingLastPathComponent
        var found: [String] = []
        for root in (base.contains("*") || base.contains("?") || base.contains("[")) ? expand(base) : [base.isEmpty ? "/" : base] {
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = walker.nextObject() as? String {
                let path = root == "/" ? "/" + relative : root + "/" + relative
                if matches(pattern, path) { found.append(path) }
            }
        }
        return found.sorted()
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        guard pattern.contains("**") else { return fnmatch(pattern, path, FNM_PATHNAME) == 0 }
        // `a/**/b`: b directly in a (FNM_PATHNAME keeps the other `*` within one name), or below it.
        let none = pattern.replacingOccurrences(of: "**/", with: "")
        let some = pattern.replacingOccurrences(of: "**/", with: "*/").replacingOccurrences(of: "**", with: "*")
        return fnmatch(none, path, FNM_PATHNAME) == 0 || fnmatch(some, path, 0) == 0
    }

    /// Compressed rotations, never read (the agent tails plain text).
    static let compressed = ["*.gz", "*.zst", "*.bz2", "*.xz", "*.zip"]

    /// Whether `path` is excluded: a pattern with a `/` is matched against the whole path, one
    /// without against the file's name.
    static func excluded(_ path: String, by patterns: [String]) -> Bool {
        let name = (path as NSString).lastPathComponent
        return (compressed + patterns).contains { $0.contains("/") ? matches($0, path) : fnmatch($0, name, 0) == 0 }
    }
}
