import Foundation
import Testing

/// ggml looks for its CPU code, by default, in the executable's folder and in the working
/// directory, and loads the library that scores best. Anima runs as root and is started from
/// any folder, so a library planted where a user can write would run as root. Anima loads
/// the CPU code from libllama's own folder only.
@Suite("A planted CPU library")
struct PlantedLibraryTests {
    @Test func aLibraryInTheWorkingDirectoryIsNeverLoaded() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("anima-planted-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let marker = folder.appendingPathComponent("planted-library-ran")
        // The name and entry point ggml's loader looks for, with a score above every real
        // variant's, and code that runs the moment the library is loaded.
        let source = folder.appendingPathComponent("planted.c")
        try """
        #include <stdio.h>
        __attribute__((constructor)) static void planted(void) {
            FILE *f = fopen("\(marker.path)", "w");
            if (f) { fputs("ran\\n", f); fclose(f); }
        }
        int ggml_backend_score(void) { return 1 << 20; }
        """.write(to: source, atomically: true, encoding: .utf8)
        let library = folder.appendingPathComponent("libggml-cpu-planted.so")
        let compiler = Process()
        compiler.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        compiler.arguments = ["-shared", "-fPIC", "-o", library.path, source.path]
        try compiler.run()
        compiler.waitUntilExit()
        try #require(compiler.terminationStatus == 0, "cc could not build the planted library")

        // The control: the library does run when it is loaded.
        let handle = try #require(dlopen(library.path, RTLD_NOW | RTLD_LOCAL), "\(String(cString: dlerror()))")
        dlclose(handle)
        #expect(FileManager.default.fileExists(atPath: marker.path), "the planted library's constructor did not run when loaded")
        try FileManager.default.removeItem(at: marker)

        let result = try CLI.run(
            ["run", "--json", "--max-steps", "1", "--tokens-per-step", "4", "What is the capital of France?"],
            environment: ["XDG_RUNTIME_DIR": folder.path + "/run"], directory: folder)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "anima loaded a library from its working directory")
    }
}
