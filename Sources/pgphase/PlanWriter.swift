import Foundation
import PGPhaseModel

#if canImport(Glibc)
  import Glibc
#endif

/// Writes rendered plans into the output folder, all or nothing, and deletes only what pgphase
/// wrote.
///
/// Every changed plan folder is first written in full into a staging folder inside the output
/// folder (same file system, no fsync per file); if any write fails, the staging folder is
/// removed and nothing in the output folder has changed. Then each folder is swapped into place
/// with rename(2), so a reader sees the old folder or the new one, never a mix. A folder that
/// also holds files pgphase did not write (a user's NOTES.md) is updated file by file instead,
/// each file replaced atomically, and the user's files stay.
struct PlanWriter {
  let out: String
  /// Names of the files a plan folder is made of (plan.json, the phase scripts, undo.sql).
  let generatedNames: Set<String>
  let fm = FileManager.default

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// What the folder of one plan holds now.
  enum FolderState: Equatable {
    case absent
    /// Only files pgphase writes: safe to replace or remove whole.
    case generatedOnly
    /// Also other files or folders (listed): kept; pgphase replaces only its own files.
    case withOtherFiles([String])
    /// Something that is not a folder is in the way.
    case notAFolder
  }

  func state(of path: String) -> FolderState {
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return .absent }
    guard isDirectory.boolValue else { return .notAFolder }
    let entries = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
    let others = entries.filter { name in
      guard generatedNames.contains(name) else { return true }
      var dir: ObjCBool = false
      return !fm.fileExists(atPath: "\(path)/\(name)", isDirectory: &dir) || dir.boolValue
    }
    return others.isEmpty ? .generatedOnly : .withOtherFiles(others)
  }

  /// Plan folders already in `out` (those holding a plan.json), by intent id.
  func existingPlanFolders() -> [String] {
    let entries = (try? fm.contentsOfDirectory(atPath: out)) ?? []
    return entries.filter { !$0.hasPrefix(".") && fm.fileExists(atPath: "\(out)/\($0)/plan.json") }.sorted()
  }

  func isUnchanged(_ dir: String, _ files: [String: String]) -> Bool {
    guard state(of: dir) != .absent else { return false }
    for (name, content) in files {
      guard let data = fm.contents(atPath: "\(dir)/\(name)"), data.elementsEqual(content.utf8) else { return false }
    }
    // A generated file the new plan no longer has would be left behind.
    let present = Set((try? fm.contentsOfDirectory(atPath: dir)) ?? []).intersection(generatedNames)
    return present.isSubset(of: Set(files.keys))
  }

  struct Outcome {
    var written: [String] = []
    var unchanged: [String] = []
    var removed: [String] = []
    /// Stale folders kept because they hold other files, with those files.
    var kept: [(id: String, others: [String])] = []
  }

  /// Writes `plans` (intent id → file name → content). With `removeStale`, plan folders whose
  /// intent is not among `plans` are removed when they hold only generated files, and reported
  /// otherwise.
  func write(_ plans: [(id: String, files: [String: String])], removeStale: Bool) throws -> Outcome {
    var outcome = Outcome()
    do {
      try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
    } catch {
      throw Failure(description: "cannot create \(out)/: \(Self.reason(error))")
    }
    removeLeftovers()
    let token = "\(ProcessInfo.processInfo.processIdentifier)"
    let staging = "\(out)/.pgphase-staging-\(token)"
    let trash = "\(out)/.pgphase-old-\(token)"

    // 1. Decide, before changing anything.
    var changed: [(id: String, files: [String: String], state: FolderState)] = []
    for (id, files) in plans {
      let dir = "\(out)/\(id)"
      let current = state(of: dir)
      if current == .notAFolder { throw Failure(description: "cannot write \(dir)/: a file of that name is in the way") }
      if isUnchanged(dir, files) {
        outcome.unchanged.append(id)
      } else {
        changed.append((id, files, current))
      }
    }
    let wanted = Set(plans.map(\.id))
    var stale: [String] = []
    if removeStale {
      for id in existingPlanFolders() where !wanted.contains(id) {
        switch state(of: "\(out)/\(id)") {
        case .generatedOnly: stale.append(id)
        case .withOtherFiles(let others): outcome.kept.append((id, others))
        case .absent, .notAFolder: break
        }
      }
    }

    // 2. Write every changed folder into staging; on failure remove it and stop.
    do {
      if !changed.isEmpty { try fm.createDirectory(atPath: staging, withIntermediateDirectories: false) }
      for (id, files, _) in changed {
        try fm.createDirectory(atPath: "\(staging)/\(id)", withIntermediateDirectories: false)
        for (name, content) in files {
          try Self.createFile("\(staging)/\(id)/\(name)", content)
        }
      }
      try Self.flush(staging)
    } catch {
      try? fm.removeItem(atPath: staging)
      throw Failure(description: "cannot write the plans into \(out)/ (nothing was changed): \(Self.reason(error))")
    }

    // 3. Swap into place.
    var trashMade = false
    func toTrash(_ id: String) throws {
      if !trashMade {
        try fm.createDirectory(atPath: trash, withIntermediateDirectories: false)
        trashMade = true
      }
      try Self.rename("\(out)/\(id)", "\(trash)/\(id)")
    }
    do {
      for (id, files, current) in changed {
        let dir = "\(out)/\(id)"
        switch current {
        case .absent:
          try Self.rename("\(staging)/\(id)", dir)
        case .generatedOnly:
          try toTrash(id)
          try Self.rename("\(staging)/\(id)", dir)
        case .withOtherFiles:
          for name in files.keys.sorted() { try Self.rename("\(staging)/\(id)/\(name)", "\(dir)/\(name)") }
          for name in generatedNames.subtracting(files.keys) where fm.fileExists(atPath: "\(dir)/\(name)") {
            try fm.removeItem(atPath: "\(dir)/\(name)")
          }
        case .notAFolder:
          break
        }
        outcome.written.append(id)
      }
      for id in stale {
        try toTrash(id)
        outcome.removed.append(id)
      }
    } catch {
      throw Failure(
        description:
          "writing plans into \(out)/ failed after \(outcome.written.count) of \(changed.count) folders were replaced: \(Self.reason(error)); rerun `pgphase plan`"
      )
    }
    try? fm.removeItem(atPath: staging)
    if trashMade { try? fm.removeItem(atPath: trash) }
    return outcome
  }

  /// Staging and old folders of a run that was killed: pgphase's own, by name.
  func removeLeftovers() {
    for entry in (try? fm.contentsOfDirectory(atPath: out)) ?? []
    where entry.hasPrefix(".pgphase-staging-") || entry.hasPrefix(".pgphase-old-") {
      try? fm.removeItem(atPath: "\(out)/\(entry)")
    }
  }

  /// Writes a new file with plain write(2): Foundation's `Data.write` fsyncs every file, which
  /// made planning 1,000 intents take 21 s of wall time.
  static func createFile(_ path: String, _ content: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw Failure(description: "create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var content = content
    try content.withUTF8 { buffer in
      var offset = 0
      while offset < buffer.count {
        let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          throw Failure(description: "write \(path): \(String(cString: strerror(errno)))")
        }
        offset += n
      }
    }
  }

  static func rename(_ from: String, _ to: String) throws {
    guard Foundation.rename(from, to) == 0 else {
      throw Failure(description: "rename \(from) → \(to): \(String(cString: strerror(errno)))")
    }
  }

  /// One flush for all staged files, before any is made visible, instead of one per file: a
  /// crash then leaves each plan folder old or new, never new and empty.
  static func flush(_ path: String) throws {
    #if os(Linux)
      // syncfs(2) flushes one file system; Glibc's Swift overlay does not declare it.
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return sync() }
      let syncfs = unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
      let fd = open(path, O_RDONLY | O_DIRECTORY)
      guard fd >= 0 else { return }
      defer { close(fd) }
      guard syncfs(fd) == 0 else { throw Failure(description: "syncfs \(path): \(String(cString: strerror(errno)))") }
    #else
      sync()
    #endif
  }

  static func reason(_ error: any Error) -> String {
    if let failure = error as? Failure { return failure.description }
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return "\(ns.userInfo[NSFilePathErrorKey] as? String ?? ""): \(String(cString: strerror(Int32(underlying.code))))"
    }
    return ns.localizedDescription
  }
}
