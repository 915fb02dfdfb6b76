import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Child processes through posix_spawn and waitpid. Not Foundation's `Process`: its wait did not
/// return after `pg_ctl start`, whose server outlives it and keeps inherited descriptors open.
public enum Spawn {
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Runs `command` (looked up on PATH) to completion with stdin from /dev/null and stdout and
  /// stderr into `output`; returns its exit status (128 + the signal when a signal ended it).
  public static func run(_ command: [String], output: String) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let pid = try spawn(command, environment: nil, actions: &actions)
    return wait(pid)
  }

  /// Starts `command` with this process's stdin, stdout and stderr and `environment` (nil: ours).
  public static func start(_ command: [String], environment: [String: String]?) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    return try spawn(command, environment: environment, actions: &actions)
  }

  /// Waits for `pid`; its exit status, or 128 + the signal that ended it.
  public static func wait(_ pid: Int32) -> Int32 {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
  }

  private static func spawn(_ command: [String], environment: [String: String]?, actions: inout posix_spawn_file_actions_t)
    throws -> pid_t
  {
    guard let program = command.first else { throw Failure(description: "no command") }
    let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { env in
      env.keys.sorted().map { strdup("\($0)=\(env[$0]!)") } + [nil]
    }
    defer { for entry in envp ?? [] { free(entry) } }
    // Signals this process ignores or handles start with their default action in the child.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for number in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, number) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))
    var pid: pid_t = 0
    let result: Int32 =
      if let envp {
        envp.withUnsafeBufferPointer { posix_spawnp(&pid, program, &actions, &attributes, argv, $0.baseAddress) }
      } else {
        posix_spawnp(&pid, program, &actions, &attributes, argv, environ)
      }
    guard result == 0 else { throw Failure(description: "cannot run \(program): \(String(cString: strerror(result)))") }
    return pid
  }
}
