// sbnn RTL harness (generated from sbnn/hw/templates/harness.cpp): drives AXI4-Stream beats from files.
// argv: max_cycles seed p_in p_out { in_file out_file acc_file n_out_beats } x @NDESIGNS@
// Output file: per output beat  u32 cycle_lo, u32 cycle_hi, u32 tlast, u32 data[words].
// Accept file: u64 edge at which the first input beat was first offered, then the edge of every accepted
// input beat. Edge 0 = first rising edge after reset.
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
    uint64_t first_valid = UINT64_MAX;
    std::vector<uint32_t> obuf;
    std::vector<uint64_t> acc;
    const char *out_path = nullptr, *acc_path = nullptr;
    Port(int a, int b) : wi(a), wo(b) {}
    uint32_t* cur() { return in.data() + (idx < n_in ? idx : 0) * wi; }
    void out_beat(uint64_t cyc, int last, const uint32_t* d) {
        obuf.push_back((uint32_t)cyc); obuf.push_back((uint32_t)(cyc >> 32)); obuf.push_back((uint32_t)last);
        for (int j = 0; j < wo; ++j) obuf.push_back(d[j]);
        ++got;
    }
    void accepted(uint64_t cyc) { acc.push_back(cyc); ++idx; presenting = false; }
    bool done() const { return got >= n_out; }
};

static void die(const char* msg) { std::fprintf(stderr, "%s\n", msg); std::exit(2); }

int main(int argc, char** argv) {
    const int nd = @NDESIGNS@;
    if (argc != 5 + 4 * nd) die("usage: sim max_cycles seed p_in p_out {in out acc n_out}...");
    Verilated::commandArgs(1, argv);
    uint64_t max_cycles = std::strtoull(argv[1], nullptr, 10);
    Rng rng{std::strtoull(argv[2], nullptr, 10) * 2654435761ull + 88172645463325252ull};
    double p_in = std::atof(argv[3]), p_out = std::atof(argv[4]);
    std::vector<Port> ds;
@DECL@
    for (int i = 0; i < nd; ++i) {
        Port& p = ds[i];
        FILE* f = std::fopen(argv[5 + 4 * i], "rb");
        if (!f) die("cannot open input file");
        std::fseek(f, 0, SEEK_END);
        long bytes = std::ftell(f);
        std::fseek(f, 0, SEEK_SET);
        p.in.resize(bytes / 4 + 1);
        if (bytes && std::fread(p.in.data(), 4, bytes / 4, f) != (size_t)(bytes / 4)) die("short read");
        std::fclose(f);
        p.n_in = bytes / 4 / p.wi;
        p.out_path = argv[6 + 4 * i];
        p.acc_path = argv[7 + 4 * i];
        p.n_out = std::strtoull(argv[8 + 4 * i], nullptr, 10);
    }
    @TOP@* top = new @TOP@;
    top->ap_clk = 0;
    top->ap_rst_n = 0;
    top->eval();
    for (int i = 0; i < @RESET@; ++i) { top->ap_clk = 1; top->eval(); top->ap_clk = 0; top->eval(); }
    top->ap_rst_n = 1;
    uint64_t cyc = 0;
    bool all = false;
    for (; cyc < max_cycles; ++cyc) {
        for (Port& p : ds) {
            if (!p.presenting && p.idx < p.n_in && rng.draw(p_in)) p.presenting = true;
            if (p.presenting && p.first_valid == UINT64_MAX) p.first_valid = cyc;
            p.ready = rng.draw(p_out);
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
        std::fwrite(&p.first_valid, 8, 1, f);
        if (!p.acc.empty()) std::fwrite(p.acc.data(), 8, p.acc.size(), f);
        std::fclose(f);
    }
    top->final();
    delete top;
    std::printf("cycles %llu %s\n", (unsigned long long)cyc, all ? "done" : "TIMEOUT");
    return all ? 0 : 3;
}
