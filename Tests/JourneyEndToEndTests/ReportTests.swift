import JourneyTestSupport
import Foundation
import Testing

/// `journey report`: the Markdown report of a saved query equals its committed expected file; the HTML report
/// renders in headless Chromium to a non-blank PNG with no script errors; a bad script writes nothing.
@Suite(.serialized) struct ReportTests {
    static var root: URL { SavedQueryTests.root }

    @Test func markdownReportMatchesExpected() throws {
        let out = tempDir() + "/weekly.md"
        let r = try journey(["report", Self.root.appendingPathComponent("queries/weekly_funnel.jql").path, "--store", SavedQueryTests.store, "--out", out])
        #expect(r.status == 0, "\(r.err)")
        let got = try String(contentsOfFile: out, encoding: .utf8)
        let expectedPath = Self.root.appendingPathComponent("queries/expected/weekly_funnel.report.md").path
        if ProcessInfo.processInfo.environment["JOURNEY_RECORD"] != nil { try got.write(toFile: expectedPath, atomically: true, encoding: .utf8); return }
        #expect(got == (try String(contentsOfFile: expectedPath, encoding: .utf8)), "differs from \(expectedPath) (JOURNEY_RECORD=1 re-records)")
        #expect(got.contains("Weekly funnel: how many accounts move"), "the script's comments are the prose")
        #expect(got.contains("| step | accounts |"), "tables as Markdown")
        #expect(got.contains("went on"), "text charts")
    }

    @Test func htmlReportRendersInChromium() throws {
        let d = tempDir(), html = d + "/relevance.html", png = d + "/relevance.png"
        let r = try journey(["report", Self.root.appendingPathComponent("queries/touchpoint_relevance.jql").path, "--store", SavedQueryTests.store,
                             "--out", html, "--param", "lookback=120d"])
        #expect(r.status == 0, "\(r.err)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("<table>"))
        #expect(!page.contains("<script"), "no script")
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("url(http"), "no network")
        // Headless Chromium (Debian `chromium`, installed by `make test`) takes a screenshot.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1600",
                       "--enable-logging=stderr", "--v=0", "--screenshot=\(png)", "file://\(html)"]
        let err = Pipe()
        p.standardError = err; p.standardOutput = Pipe()
        try p.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(!log.contains("Uncaught") && !log.contains(":CONSOLE("), "script errors or console messages: \(log.suffix(800))")
        // Decode the PNG (with Python: zlib and the per-row filters) and count the pixels that are not background.
        let line = try python(Self.decodePNG + """
        colors = set(); ink = 0
        for y in range(0, h, 4):
            for x in range(0, w, 4):
                px = bytes(rows[y][x*bpp:x*bpp+3]); colors.add(px)
                if px != b'\\xff\\xff\\xff': ink += 1
        print(w, h, len(colors), ink / ((w // 4) * (h // 4)))
        """, [png])
        let f = line.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(f.count == 4, "png check: \(line)")
        if f.count == 4 {
            #expect(f[0] == 1100 && f[1] == 1600)
            #expect(f[2] > 20, "more than a few colours (text, bars, table rules)")
            #expect(f[3] > 0.02 && f[3] < 0.9, "non-blank but not a solid fill: \(f[3])")
        }
    }

    /// The notebook page: a table of contents whose links all land, path flows drawn as bands (a Sankey-like
    /// SVG), the retention grid and grouped funnel bars — and in Chromium's screenshot the flow bands' colour
    /// and the grid's shading are really on the page, not just in the file.
    @Test func notebookPageHasContentsAndEveryChart() throws {
        let d = tempDir(), script = d + "/flows.jql", html = d + "/flows.html", png = d + "/flows.png"
        try """
        -- # Paths to a contract
        -- ## The flows
        paths from awareness to conversion show channel top 8 count accounts;
        -- ## Retention
        retention from stage:conversion returning stage:retention every month periods 6;
        -- ## By segment
        funnel awareness > intent > conversion within 180d by customer.segment count accounts;
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let r = try journey(["report", script, "--store", SavedQueryTests.store, "--out", html])
        #expect(r.status == 0, "\(r.err)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        // Contents: every link lands on an element of the page.
        let links = page.matches(of: #/href="#([a-z0-9-]+)"/#).map { String($0.1) }
        #expect(links.count == 7, "3 headings + 1 title + 3 statements: \(links)")
        for id in links { #expect(page.contains("id=\"\(id)\""), "the contents link #\(id) lands") }
        #expect(page.contains("@media print"))
        // Chromium parses the page into SVG elements (its DOM after loading).
        let dom = try chromium(["--dump-dom", "file://\(html)"])
        #expect(dom.matches(of: #/<svg/#).count >= 3, "flows, grid, grouped bars")
        let bands = dom.matches(of: #/class="band"[^>]*stroke-width="([0-9.]+)"/#).compactMap { Double($0.1) }
        #expect(bands.count >= 5 && bands.allSatisfy { $0 >= 1 }, "flow bands with widths: \(bands)")
        #expect(dom.contains("class=\"node\""))
        // And they are drawn: the first band colour (#3b6fd4 at 35% on white) and the grid's blue are in the pixels.
        _ = try chromium(["--hide-scrollbars", "--window-size=1000,4000", "--screenshot=\(png)", "file://\(html)"])
        let counts = try pixelCounts(png, near: [(178, 197, 242), (59, 111, 212), (51, 51, 68)])
        #expect(counts.count == 3 && counts[0] > 500, "flow bands on the page: \(counts)")
        #expect(counts.count == 3 && counts[1] > 100, "solid chart blue (bars, the grid's darkest cells) on the page: \(counts)")
        #expect(counts.count == 3 && counts[2] > 100, "the flow nodes on the page: \(counts)")
    }

    /// Python that decodes the PNG in sys.argv[1] (zlib, the per-row filters undone by hand) into `rows` of
    /// `w` × `h` pixels of `bpp` bytes; a test appends what it measures.
    static let decodePNG = """
    import sys, zlib, struct
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
    pos, idat, w, h, ct = 8, b'', 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos+8]); body = data[pos+8:pos+8+n]; pos += 12 + n
        if kind == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', body[:10])
        elif kind == b'IDAT': idat += body
    bpp = {2: 3, 6: 4}[ct]; raw = zlib.decompress(idat); stride = w * bpp
    prev = bytearray(stride); rows = []
    for y in range(h):
        f = raw[y*(stride+1)]; line = bytearray(raw[y*(stride+1)+1:(y+1)*(stride+1)])
        for i in range(stride):
            a = line[i-bpp] if i >= bpp else 0; b = prev[i]; c = prev[i-bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line; rows.append(line)

    """

    /// Runs a Python program with arguments; its standard output.
    func python(_ program: String, _ args: [String]) throws -> String {
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", program] + args
        let out = Pipe()
        py.standardOutput = out
        try py.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        py.waitUntilExit()
        return text
    }

    /// Headless Chromium's output (stdout) for these arguments.
    func chromium(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu"] + args
        let out = Pipe()
        p.standardOutput = out; p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// How many pixels of a PNG lie within 12 of each colour (decoded with Python's zlib: filters undone by hand).
    func pixelCounts(_ png: String, near colors: [(Int, Int, Int)]) throws -> [Int] {
        let line = try python(Self.decodePNG + """
        import json
        targets = json.loads(sys.argv[2]); counts = [0] * len(targets)
        for y in range(h):
            for x in range(0, w, 2):
                px = rows[y][x*bpp:x*bpp+3]
                for k, t in enumerate(targets):
                    if abs(px[0]-t[0]) <= 12 and abs(px[1]-t[1]) <= 12 and abs(px[2]-t[2]) <= 12: counts[k] += 1
        print(' '.join(map(str, counts)))
        """, [png, "[" + colors.map { "[\($0.0),\($0.1),\($0.2)]" }.joined(separator: ",") + "]"])
        return line.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    @Test func badScriptWritesNothing() throws {
        let d = tempDir(), script = d + "/bad.jql", out = d + "/bad.html"
        try "-- a report\ntop 3 channels;\nfunnel awarness > conversion;\n".write(toFile: script, atomically: true, encoding: .utf8)
        let r = try journey(["report", script, "--store", SavedQueryTests.store, "--out", out])
        #expect(r.status == 1)
        #expect(r.err.contains("bad.jql:3:8: error: unknown stage 'awarness'"), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
