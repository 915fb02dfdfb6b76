import Foundation
import PGPhaseTestSupport
import Testing
import Yams

/// The Kubernetes and CI examples: they parse as YAML, have the fields a safe migration Job
/// needs, and every pgphase command line in them is one the built binary accepts.
@Suite struct ExamplesManifestTests {
  static let jobs = [
    "examples/k8s/expand-job.yaml", "examples/k8s/contract-job.yaml", "examples/k8s/helm/templates/pgphase-expand-hook.yaml",
  ]

  func load(_ path: String) throws -> [String: Any] {
    let text = try readRepositoryFile(path)
    return try #require(try Yams.load(yaml: text) as? [String: Any], "\(path) is not a YAML mapping")
  }

  /// `pgphase check-args -- ARGS`: exit 0 when the command line parses.
  func expectValid(_ arguments: [String], in file: String) throws {
    let result = try runPGPhase(["check-args", "--"] + arguments)
    #expect(result.status == 0, "\(file): pgphase \(arguments.joined(separator: " ")): \(result.stderr)")
  }

  /// Kubernetes expands `$(VAR)` from the container's env; stand in example values.
  func expandKubernetesVariables(_ arg: String) -> String {
    arg.replacingOccurrences(of: "$(SLACK_WEBHOOK_URL)", with: "https://hooks.slack.com/services/T0/B0/x")
  }

  @Test func kubernetesJobsHaveTheSafetyFieldsAndValidCommands() throws {
    var commands: [[String]] = []
    for path in Self.jobs {
      let job = try load(path)
      #expect(job["kind"] as? String == "Job" && job["apiVersion"] as? String == "batch/v1", "\(path)")
      let metadata = try #require(job["metadata"] as? [String: Any])
      let name = try #require(metadata["name"] as? String)
      #expect(
        name.contains("${RELEASE}") || name.contains("{{ .Release.Revision }}"), "\(path): name not unique per release: \(name)")
      let spec = try #require(job["spec"] as? [String: Any], "\(path)")
      #expect(spec["backoffLimit"] as? Int == 0, "\(path)")
      #expect((spec["ttlSecondsAfterFinished"] as? Int ?? 0) > 0, "\(path)")
      #expect((spec["activeDeadlineSeconds"] as? Int ?? 0) > 0, "\(path)")
      let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any], "\(path)")
      #expect(pod["restartPolicy"] as? String == "Never", "\(path)")
      let initContainers = try #require(pod["initContainers"] as? [[String: Any]], "\(path)")
      let containers = try #require(pod["containers"] as? [[String: Any]], "\(path)")
      #expect((initContainers.first?["args"] as? [String])?.first == "wait-for-db", "\(path): wait-for-db must come first")
      for container in initContainers + containers {
        let env = container["env"] as? [[String: Any]] ?? []
        let dsn = env.first { $0["name"] as? String == "DATABASE_URL" }
        let secret = (dsn?["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any]
        #expect(secret?["name"] != nil && secret?["key"] != nil, "\(path): DATABASE_URL must come from a Secret")
        #expect(container["command"] as? [String] == ["pgphase"], "\(path)")
        let rawArgs = try #require(container["args"] as? [Any], "\(path)")
        let args = rawArgs.map { "\($0)" }
        #expect(!args.contains { $0.contains("postgres://") || $0.hasPrefix("--dsn") }, "\(path): no DSN on the command line")
        commands.append(args.map(expandKubernetesVariables))
      }
      if path.contains("helm") {
        let hook = (metadata["annotations"] as? [String: Any])?["helm.sh/hook"] as? String
        #expect(hook?.split(separator: ",").contains("pre-upgrade") == true, "\(path): expand is a pre-upgrade hook")
      }
    }
    // Expand before the deploy, contract after it.
    #expect(commands.contains { $0.starts(with: ["advance", "--to", "backfill"]) })
    #expect(commands.contains { $0.starts(with: ["advance", "--to", "contract", "--before-phase"]) })
    #expect(commands.count == 6)
    for args in commands { try expectValid(args, in: "examples/k8s") }
  }

  @Test func kubernetesDocExplainsTheOrderAndWhyNotInitContainers() throws {
    let doc = try readRepositoryFile("examples/k8s/README.md")
    for phrase in [
      "pgphase advance --to backfill", "pre-upgrade", "pgphase advance --to contract", "postStart", "init container",
    ] {
      #expect(doc.contains(phrase), "examples/k8s/README.md does not mention \(phrase)")
    }
  }

  @Test func githubWorkflowChecksPlansAndLintsPullRequests() throws {
    let path = "examples/ci/pgphase.yml"
    let workflow = try load(path)
    // YAML 1.1 reads a bare `on` key as true; GitHub reads it as "on".
    let on = try #require((workflow["on"] ?? workflow["true"]) as? [String: Any], "\(path): no `on`")
    #expect(on["pull_request"] != nil)
    let jobs = try #require(workflow["jobs"] as? [String: Any])
    var runs: [String] = []
    var uses: [String] = []
    for case let job as [String: Any] in jobs.values {
      for step in job["steps"] as? [[String: Any]] ?? [] {
        if let run = step["run"] as? String { runs.append(run) }
        if let action = step["uses"] as? String { uses.append(action) }
      }
    }
    let commands = runs.flatMap(pgphaseCommandLines)
    #expect(commands.contains { $0.starts(with: ["plan", "--check"]) }, "\(commands)")
    #expect(commands.contains { $0.starts(with: ["lint", "--format", "github"]) })
    #expect(commands.contains { $0.starts(with: ["lint", "--format", "sarif"]) })
    #expect(uses.contains { $0.hasPrefix("github/codeql-action/upload-sarif@") })
    #expect(commands.count == 4)
    for args in commands { try expectValid(args, in: path) }
  }

  @Test func checkArgsRejectsInvalidCommandLines() throws {
    for bad in [
      ["advance", "--to"], ["apply", "--phase", "expand", "--no-such-flag"], ["lint", "--format", "xml"], ["frobnicate"],
    ] {
      let result = try runPGPhase(["check-args", "--"] + bad)
      #expect(result.status == 2, "pgphase \(bad.joined(separator: " ")) should not parse")
    }
  }
}

/// The `pgphase ...` command lines of a shell script, as argument lists (quotes removed; a
/// command ends at a redirection, pipe, `;`, `&&` or `||`).
func pgphaseCommandLines(_ script: String) -> [[String]] {
  var out: [[String]] = []
  for line in script.split(separator: "\n") {
    let words = shellWords(String(line))
    var i = 0
    while i < words.count {
      if words[i] == "pgphase" {
        var args: [String] = []
        i += 1
        while i < words.count, ![">", "|", ";", "&&", "||", "2>", ">>"].contains(words[i]) {
          args.append(words[i])
          i += 1
        }
        out.append(args)
      }
      i += 1
    }
  }
  return out
}

/// Splits a shell line into words, honouring single and double quotes (no expansions).
func shellWords(_ line: String) -> [String] {
  var words: [String] = []
  var current = ""
  var quote: Character?
  var inWord = false
  for ch in line {
    if let q = quote {
      if ch == q { quote = nil } else { current.append(ch) }
    } else if ch == "'" || ch == "\"" {
      quote = ch
      inWord = true
    } else if ch == " " || ch == "\t" {
      if inWord { words.append(current) }
      current = ""
      inWord = false
    } else {
      current.append(ch)
      inWord = true
    }
  }
  if inWord { words.append(current) }
  return words
}
