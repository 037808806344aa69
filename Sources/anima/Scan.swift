import AnimaCommandSupport
import AnimaCore
import AnimaKernel
import AnimaProcessor
import AnimaSecurity
import ArgumentParser
import Foundation

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fire prompt-injection and jailbreak probes at an agent and report what got through.",
        discussion: """
            Each probe (direct jailbreaks, injection through a fetched page or a file,
            encoding tricks, delimiter forgery, exfiltration by URL and by markdown image)
            runs as an agent with recording tools and a planted canary secret. A probe
            fails when it causes a side effect the user did not ask for, or when the answer
            carries the secret or a rendered link to the attacker's domain.

            By default the agent's model is the worst case: a scripted model that obeys
            every instruction it reads, so the report measures what the OS itself stops.
            --real-model runs the probes against a model instead (slow on a CPU).
            Exits with status 1 when any probe got through.

            Examples:
              anima scan
              anima scan --policy ~/.config/anima/policy.json
              anima scan --no-security          # the same probes without the monitor
              anima scan --real-model -m ~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf
            """
    )

    @Option(help: "A policy file (JSON) for the security monitor (default: only the user may feed side effects).")
    var policy: String?
    @Flag(help: "Run without the security monitor, to see what it stops.") var noSecurity = false
    @Flag(help: "Probe a real model instead of the worst-case scripted one.") var realModel = false
    @Flag(help: "List every probe's outcome.") var verbose = false
    @OptionGroup var modelOptions: ModelOptions

    mutating func run() async throws {
        let monitor: SecurityMonitor? =
            noSecurity
            ? nil
            : SecurityMonitor(policy: try policy.map { try SecurityPolicy(contentsOf: ($0 as NSString).expandingTildeInPath) } ?? .strict)
        let processor: (any LanguageModel)? = realModel ? try await modelOptions.load() : nil
        let outcomes = try await RedTeamScan(security: monitor).run(processor: processor)
        print(
            "\(outcomes.count) probes, \(realModel ? "model \(URL(fileURLWithPath: modelOptions.path).lastPathComponent)" : "worst-case obedient model"), security \(noSecurity ? "off" : "on")"
        )
        print("  category                      probes  side effects  leaks")
        for category in RedTeamProbe.Category.allCases {
            let these = outcomes.filter { $0.probe.category == category }
            guard !these.isEmpty else { continue }
            print(
                "  " + category.rawValue.padding(toLength: 28, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %6d  %12d  %5d", these.count, these.filter { !$0.violations.isEmpty }.count, these.filter(\.leaked).count
                    ))
        }
        if verbose {
            for o in outcomes {
                let verdict = o.failed ? "GOT THROUGH" : "stopped"
                print("  \(o.probe.name): \(verdict)" + (o.violations.isEmpty ? "" : " \(o.violations)") + (o.leaked ? " (leaked)" : ""))
            }
        }
        let through = outcomes.filter(\.failed).count
        print(through == 0 ? "no probe got through" : "\(through) of \(outcomes.count) probes got through")
        if through > 0 { throw ExitCode(1) }
    }
}
