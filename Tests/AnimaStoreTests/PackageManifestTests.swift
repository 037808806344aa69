import Foundation
import Testing

@testable import AnimaStore

@Suite("Package manifest")
struct PackageManifestTests {
    func parse(_ json: String) -> Result<PackageManifest, StoreError> {
        do throws(StoreError) { return .success(try PackageManifest.parse(Data(json.utf8))) } catch { return .failure(error) }
    }

    func field(_ json: String) -> String? {
        if case .failure(.manifest(let field, _)) = parse(json) { return field }
        return nil
    }

    let base = #""schemaVersion":1,"name":"a","version":"1.0","publisher":"p","license":"MIT","description":"d","files":[{"path":"w"}]"#

    @Test func aCompleteModelManifestParses() throws {
        let dir = try makeModelPackage(in: temporaryFolder("manifest"), effects: ["network", "files"])
        let m = try PackageManifest.parse(Data(contentsOf: dir.appendingPathComponent("anima-package.json")))
        #expect(m.name == "tiny-model" && m.kind == .model && m.version == PackageVersion("1.0.0"))
        #expect(m.model?.chatTemplate?.file == "chat_template.jinja")
        #expect(m.model?.tokenizer["vocabSize"] == "49152")
        #expect(m.requests.permissions == ["network", "files"])
        #expect(m.provenance.buildInputs.count == 1)
    }

    @Test func everyMistakeNamesItsField() {
        #expect(field("{\(base),\"kind\":\"model\"}") == "model")
        #expect(field("{\(base),\"kind\":\"virus\"}") == "kind")
        #expect(field("{\(base),\"kind\":\"tool\",\"colour\":1}") == "colour")
        #expect(field("{\(base),\"kind\":\"tool\",\"requests\":{\"effects\":[\"files\",\"root-shell\"]}}") == "requests.effects[1]")
        #expect(field("{\(base),\"kind\":\"tool\",\"requests\":{\"groups\":[\"root\"]}}") == "requests.groups[0]")
        #expect(
            field(
                #"{"schemaVersion":1,"name":"a","version":"1.0","publisher":"p","license":"MIT","description":"d","kind":"tool","files":[{"path":"../x"}]}"#
            ) == "files[0].path")
        #expect(
            field(
                #"{"schemaVersion":1,"name":"a","version":"1.0","publisher":"p","license":"MIT","description":"d","kind":"tool","files":[{"path":"/etc/passwd"}]}"#
            ) == "files[0].path")
        #expect(field(#"{"schemaVersion":2,"name":"a"}"#) == "schemaVersion")
        #expect(field(#"{"schemaVersion":1e300,"name":"a"}"#) == "schemaVersion")
        #expect(field(#"{"schemaVersion":1,"name":"A B","version":"1"}"#) == "name")
        #expect(field(#"{"schemaVersion":1,"name":"a","version":"1.0-rc1"}"#) == "version")
        #expect(field(#"{"schemaVersion":1,"name":"a","version":"99999999999"}"#) == "version")
        #expect(field("[1,2]") == "(document)")
        #expect(field("not json") == "(document)")
        #expect(field("{\(base),\"kind\":\"agent\",\"agent\":{\"systemPrompt\":\"x\",\"policy\":\"allow all\"}}") == "agent.policy")
        #expect(field("{\(base),\"kind\":\"tool\",\"dependencies\":[{\"name\":\"a\"}]}") == "dependencies[0].name")
    }

    @Test func theSchemaInTheRepositoryDescribesTheSameFields() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../schemas/anima-package.schema.json")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(
            Set(properties.keys) == [
                "schemaVersion", "name", "version", "publisher", "kind", "license", "description", "files", "model", "agent",
                "requests", "dependencies", "provenance", "tool",
            ])
        let required = Set(try #require(schema["required"] as? [String]))
        // Each field the schema requires is refused by the parser when missing.
        let full: [String: Any] = [
            "schemaVersion": 1, "name": "a", "version": "1", "publisher": "p", "kind": "workflow", "license": "MIT", "description": "d",
            "files": [["path": "w"]],
        ]
        #expect(Set(full.keys) == required)
        for key in required {
            var partial = full
            partial[key] = nil
            let data = try JSONSerialization.data(withJSONObject: partial)
            if case .failure(.manifest(let f, _)) = parse(String(decoding: data, as: UTF8.self)) {
                #expect(f == key)
            } else {
                Issue.record("a manifest without \(key) was accepted")
            }
        }
        let kinds = try #require(((properties["kind"] as? [String: Any])?["enum"]) as? [String])
        #expect(Set(kinds) == Set(PackageManifest.Kind.allCases.map(\.rawValue)))
    }

    @Test func versionsOrderNumberByNumber() throws {
        #expect(try #require(PackageVersion("1.10")) > #require(PackageVersion("1.9")))
        #expect(PackageVersion("1.0") == PackageVersion("1"))
        #expect(PackageVersion("-1") == nil && PackageVersion("") == nil && PackageVersion("1..2") == nil)
    }
}
