// sbnn RTL harness (generated from sbnn/hw/templates/harness.cpp): drives AXI4-Stream beats from files.
// argv: max_cycles seed p_in p_out xseed rst_len { in_file out_file acc_file n_out_beats reset_file } x @NDESIGNS@
// Output file: per output beat  u32 cycle_lo, u32 cycle_hi, u32 tlast | epoch << 1, u32 data[words].
// Accept file: u64 epochs E, E x u64 edge at which the epoch's first input beat was first offered, then per
// accepted input beat u64 edge, u64 epoch. Edge 0 = first rising edge after the initial reset.
// Reset file (may be empty): per mid-run reset u64 edge, u64 input beat to restart from. ap_rst_n of that
// design is low for rst_len edges from that edge on (inputs not offered, outputs not accepted); an epoch
// offers the beats up to the next reset's restart beat; the epoch after the last reset must deliver
// n_out_beats output beats.
// Initial register values: random (Verilator --x-initial unique) with seed xseed.
#include "@TOP@.h"
#include "verilated.h"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

struct Rng {
    uint64_t s;
    uint32_t next() { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)(s >> 11); }
    bool draw(double p) { return p >= 1.0 || (next() % 1000000u) < (uint32_t)(p * 1000000.0); }
};

struct Port {
    int wi, wo;
    std::vector<uint32_t> in;
    size_t n_in = 0, idx = 0, n_out = 0, got = 0;
    bool presenting = false, ready = true;
    bool rst_n = true;
    uint64_t epoch = 0, rst_left = 0;
    std::vector<uint64_t> first_valid{UINT64_MAX};
    std::vector<uint64_t> resets;  // pairs: edge, restart beat
    size_t next_reset = 0;
    std::vector<uint32_t> obuf;
    std::vector<uint64_t> acc;
    const char *out_path = nullptr, *acc_path = nullptr;
    Port(int a, int b) : wi(a), wo(b) {}
    uint32_t* cur() { return in.data() + (idx < n_in ? idx : 0) * wi; }
    void out_beat(uint64_t cyc, int last, const uint32_t* d) {
        obuf.push_back((uint32_t)cyc); obuf.push_back((uint32_t)(cyc >> 32));
        obuf.push_back((uint32_t)last | (uint32_t)(epoch << 1));
        for (int j = 0; j < wo; ++j) obuf.push_back(d[j]);
        ++got;
    }
    void accepted(uint64_t cyc) { acc.push_back(cyc); acc.push_back(epoch); ++idx; presenting = false; }
    // a scheduled reset starts at this edge: drop the presented beat, restart the input at a frame boundary
    void clock(uint64_t cyc, uint64_t rst_len) {
        if (next_reset < resets.size() / 2 && resets[2 * next_reset] == cyc) {
            idx = resets[2 * next_reset + 1];
            ++next_reset;
            presenting = false;
            rst_left = rst_len;
            ++epoch;
            got = 0;
            first_valid.push_back(UINT64_MAX);
        }
        rst_n = rst_left == 0;
        if (rst_left) --rst_left;
    }
    bool done() const { return next_reset == resets.size() / 2 && got >= n_out; }
    // the beats of this epoch end where the next epoch restarts
    size_t end() const { return next_reset < resets.size() / 2 ? (size_t)resets[2 * next_reset + 1] : n_in; }
};

static void die(const char* msg) { std::fprintf(stderr, "%s\n", msg); std::exit(2); }

int main(int argc, char** argv) {
    const int nd = @NDESIGNS@;
    if (argc != 7 + 5 * nd) die("usage: sim max_cycles seed p_in p_out xseed rst_len {in out acc n_out resets}...");
    Verilated::commandArgs(1, argv);
    uint64_t max_cycles = std::strtoull(argv[1], nullptr, 10);
    Rng rng{std::strtoull(argv[2], nullptr, 10) * 2654435761ull + 88172645463325252ull};
    double p_in = std::atof(argv[3]), p_out = std::atof(argv[4]);
    Verilated::randReset(2);  // registers start with random values (built with --x-initial unique)
    Verilated::randSeed((int)std::strtoul(argv[5], nullptr, 10));
    uint64_t rst_len = std::strtoull(argv[6], nullptr, 10);
    std::vector<Port> ds;
@DECL@
    for (int i = 0; i < nd; ++i) {
        Port& p = ds[i];
        FILE* f = std::fopen(argv[7 + 5 * i], "rb");
        if (!f) die("cannot open input file");
        std::fseek(f, 0, SEEK_END);
        long bytes = std::ftell(f);
        std::fseek(f, 0, SEEK_SET);
        p.in.resize(bytes / 4 + 1);
        if (bytes && std::fread(p.in.data(), 4, bytes / 4, f) != (size_t)(bytes / 4)) die("short read");
        std::fclose(f);
        p.n_in = bytes / 4 / p.wi;
        p.out_path = argv[8 + 5 * i];
        p.acc_path = argv[9 + 5 * i];
        p.n_out = std::strtoull(argv[10 + 5 * i], nullptr, 10);
        f = std::fopen(argv[11 + 5 * i], "rb");
        if (!f) die("cannot open reset file");
        uint64_t r[2];
        while (std::fread(r, 8, 2, f) == 2) { p.resets.push_back(r[0]); p.resets.push_back(r[1]); }
        std::fclose(f);
    }
    @TOP@* top = new @TOP@;
    top->ap_clk = 0;
@RESET0@
    top->eval();
    for (int i = 0; i < @RESET@; ++i) { top->ap_clk = 1; top->eval(); top->ap_clk = 0; top->eval(); }
    uint64_t cyc = 0;
    bool all = false;
    for (; cyc < max_cycles; ++cyc) {
        for (Port& p : ds) {
            p.clock(cyc, rst_len);
            if (p.rst_n && !p.presenting && p.idx < p.end() && rng.draw(p_in)) p.presenting = true;
            if (p.presenting && p.first_valid.back() == UINT64_MAX) p.first_valid.back() = cyc;
            p.ready = p.rst_n && rng.draw(p_out);
        }
@DRIVE@
        top->eval();
@SAMPLE@
        top->ap_clk = 1;
        top->eval();
        top->ap_clk = 0;
        top->eval();
        all = true;
        for (Port& p : ds) all = all && p.done();
        if (all) { ++cyc; break; }
    }
    for (Port& p : ds) {
        FILE* f = std::fopen(p.out_path, "wb");
        if (!f) die("cannot write output file");
        if (!p.obuf.empty()) std::fwrite(p.obuf.data(), 4, p.obuf.size(), f);
        std::fclose(f);
        f = std::fopen(p.acc_path, "wb");
        if (!f) die("cannot write accept file");
        uint64_t ne = p.first_valid.size();
        std::fwrite(&ne, 8, 1, f);
        std::fwrite(p.first_valid.data(), 8, ne, f);
        if (!p.acc.empty()) std::fwrite(p.acc.data(), 8, p.acc.size(), f);
        std::fclose(f);
    }
    top->final();
    delete top;
    std::printf("cycles %llu %s\n", (unsigned long long)cyc, all ? "done" : "TIMEOUT");
    return all ? 0 : 3;
}
