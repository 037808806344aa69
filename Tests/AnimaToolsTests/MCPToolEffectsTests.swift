import AnimaCore
import Foundation
import MCP
import Testing

@testable import AnimaTools

/// What an MCP tool does, from its annotations, the user's override, or the default.
@Suite("MCP tool effects", .serialized)
struct MCPToolEffectsTests {
    typealias Annotations = MCP.Tool.Annotations

    @Test func annotationsMapOntoEffects() {
        let readOnly = MCPToolEffects(annotations: Annotations(readOnlyHint: true, openWorldHint: false), serverHasNetwork: false)
        #expect(readOnly.consequences.isEmpty && readOnly.effect == .readOnly && readOnly.origin == .annotation)
        // A search that only reads still sends its query out when its server has the network.
        let search = MCPToolEffects(annotations: Annotations(readOnlyHint: true), serverHasNetwork: true)
        #expect(search.consequences == [.sendsData] && search.effect == .network)
        let additive = MCPToolEffects(
            annotations: Annotations(readOnlyHint: false, destructiveHint: false, openWorldHint: false), serverHasNetwork: false)
        #expect(additive.consequences == [.writes] && additive.effect == .write)
        let destructive = MCPToolEffects(
            annotations: Annotations(destructiveHint: true, idempotentHint: true, openWorldHint: false), serverHasNetwork: false)
        #expect(destructive.consequences == [.writes, .deletes] && destructive.idempotent && destructive.effect == .write)
        // MCP's defaults for missing hints: open world, so data goes out.
        let partly = MCPToolEffects(annotations: Annotations(idempotentHint: true), serverHasNetwork: false)
        #expect(partly.consequences == [.writes, .deletes, .sendsData] && partly.effect == .network)
        // None at all: the worst.
        let none = MCPToolEffects(annotations: nil, serverHasNetwork: false)
        #expect(none == .unknown && none.origin == .default && none.effect == .network)
        #expect(none.consequences == Set(MCPToolEffects.Consequence.allCases))
        // A title alone says nothing about effects.
        #expect(MCPToolEffects(annotations: Annotations(title: "Harmless"), serverHasNetwork: false) == .unknown)
    }

    @Test func theUsersOverrideBeatsTheServersWordAndTheDefault() throws {
        let json = #"""
            {"servers": [{"name": "bank", "command": "/bin/true", "trustAnnotations": false,
              "tools": {"send_money": {"effects": ["moves-money"], "arguments": {"to": "recipient", "amount": "amount"}},
                        "balance": {"effects": []}}}]}
            """#
        let file = "/tmp/anima-mcp-override-\(getpid()).json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let bank = try #require(try MCPServerConfiguration.load(from: file).first)
        let lying = Annotations(readOnlyHint: true, openWorldHint: false)
        let money = bank.effects(of: "send_money", annotations: lying)
        #expect(money.consequences == [.movesMoney] && money.effect == .network && money.origin == .override)
        #expect(money.argumentRoles == ["to": .recipient, "amount": .amount])
        let balance = bank.effects(of: "balance", annotations: nil)
        #expect(balance.effect == .readOnly && balance.origin == .override)
        // Annotations not trusted: a tool without an override gets the default, whatever it claims.
        let other = bank.effects(of: "wipe_account", annotations: lying)
        #expect(other == .unknown)
    }

    @Test func aMisspeltOverrideIsRefusedWithWhatIsAllowed() throws {
        let file = "/tmp/anima-mcp-override-bad-\(getpid()).json"
        defer { try? FileManager.default.removeItem(atPath: file) }
        for (json, expected) in [
            (#"{"servers": [{"name": "b", "command": "/bin/true", "tools": {"t": {"effect": ["writes"]}}}]}"#, "unknown key \"effect\""),
            (#"{"servers": [{"name": "b", "command": "/bin/true", "tools": {"t": {"effects": ["steals"]}}}]}"#, "steals"),
            (#"{"servers": [{"name": "b", "command": "/bin/true", "tools": {"t": {"arguments": {"x": "victim"}}}}]}"#, "victim"),
            (
                #"{"servers": [{"name": "b", "command": "/bin/true"}, {"name": "b", "command": "/bin/true"}]}"#,
                "two MCP servers are named b"
            ),
        ] {
            try json.write(toFile: file, atomically: true, encoding: .utf8)
            do {
                _ = try MCPServerConfiguration.load(from: file)
                Issue.record("accepted: \(json)")
            } catch {
                #expect(error.description.contains(expected), "\(error)")
            }
        }
    }

    @Test func aLiveServersToolsCarryTheirEffectsAndLyingOrGlobNamedToolsAreBounded() async throws {
        try #require(MailServer.isAvailable, "run scripts/setup.sh to install the tools venv with mcp")
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let configuration = try MailServer.configuration(
            in: fixture.base, hostileNames: true, tools: ["tidy_inbox": MCPToolOverride(effects: [.deletes])])
        let driver = MCPDriver(configuration, workspaceBase: fixture.base + "/drivers")
        defer { Task { await driver.stop() } }
        let tools = try await driver.start()
        let byName = Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0) })
        #expect(
            Set(byName.keys) == ["mail__list_emails", "mail__send_email", "mail__delete_email", "mail__send_money", "mail__tidy_inbox"])
        #expect(byName["mail__list_emails"]?.effect == .readOnly)
        #expect(byName["mail__list_emails"]?.effects.origin == .annotation)
        #expect(byName["mail__send_email"]?.effect == .network)
        #expect(byName["mail__delete_email"]?.effects.consequences == [.writes, .deletes])
        #expect(byName["mail__send_money"]?.effects == .unknown)
        // It claims to only read; the user's override says it deletes.
        #expect(byName["mail__tidy_inbox"]?.effect == .write)
        #expect(byName["mail__tidy_inbox"]?.effects.origin == .override)
        let problems = await driver.problems
        #expect(problems.count == 2, "\(problems)")
        #expect(problems.contains { $0.contains("\"send*\"") && $0.contains("left out") }, "\(problems)")
    }

    @Test func aToolboxSelectsByServerGlobAndNameAndNamesWhatExists() async throws {
        try #require(MailServer.isAvailable, "run scripts/setup.sh to install the tools venv with mcp")
        let fixture = try ToolFixture()
        defer { fixture.remove() }
        let configuration = try MailServer.configuration(in: fixture.base)
        let file = fixture.base + "/mcp.json"
        let data = try JSONEncoder().encode(["servers": [configuration]])
        try data.write(to: URL(fileURLWithPath: file))
        // Built-in names alone start no server.
        let plain = try await Toolbox.load(selecting: ["calculator"], mcpFile: file)
        #expect(plain.tools.map(\.name) == ["calculator"] && plain.drivers.isEmpty)

        let box = await Toolbox.load(mcpFile: file)
        #expect(box.problems.isEmpty, "\(box.problems)")
        let sends = try await box.selecting(["mail__send_*", "calculator"])
        #expect(sends.tools.map(\.name) == ["calculator", "mail__send_email", "mail__send_money"])
        #expect(sends.drivers.count == 1)
        let all = try await box.selecting(["mail"])
        #expect(all.tools.count == 5)
        do {
            _ = try await box.selecting(["mail__send"])
            Issue.record("mail__send was accepted")
        } catch {
            #expect(error.description.contains("mail__send_email"), "\(error)")
        }
        await box.shutdown()
    }
}
