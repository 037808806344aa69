import AnimaCore
import Testing

@Suite("Anima's folders")
struct AnimaDirectoriesTests {
    /// A data directory chosen by flag or config file is protected like the default one,
    /// whatever the environment says.
    @Test func aChosenDataDirectoryIsProtected() {
        let env = ["HOME": "/home/u", "XDG_DATA_HOME": "", "ANIMA_DATA_DIR": ""]
        let chosen = "/srv/anima-chosen-\(UInt64.random(in: 0...UInt64.max))"
        #expect(!AnimaDirectories.protected(env).contains(chosen))
        AnimaDirectories.use(data: chosen)
        #expect(AnimaDirectories.protected(env).contains(chosen))
        #expect(AnimaDirectories.protected(env).contains("/home/u/.local/share/anima"))
    }

    /// One place answers where the configuration is, `$ANIMA_CONFIG` first.
    @Test func configurationFollowsAnimaConfig() {
        #expect(AnimaDirectories.config(["HOME": "/home/u"]) == "/home/u/.config/anima")
        #expect(AnimaDirectories.config(["HOME": "/home/u", "ANIMA_CONFIG": "/etc/anima"]) == "/etc/anima")
        #expect(AnimaDirectories.cache(["HOME": "/home/u", "ANIMA_CACHE": "/c"]) == "/c")
    }
}
