// The only translation unit that includes hnswlib: its header defines non-inline
// globals, so a second includer would not link.
#include "CHNSW.h"

#include <hnswlib/hnswlib.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <immintrin.h>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

// Dot-product kernels. The library is built for baseline x86-64 so that it runs on
// any machine; the wide kernels are compiled for their own instruction sets and
// chosen at run time from what the CPU reports.
float dot_scalar(const float *a, const float *b, size_t n) {
    float sum = 0;
    for (size_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx2,fma"))) float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s0 = _mm256_add_ps(s0, s1);
    __m128 lo = _mm256_castps256_ps128(s0), hi = _mm256_extractf128_ps(s0, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_hadd_ps(lo, lo);
    lo = _mm_hadd_ps(lo, lo);
    float sum = _mm_cvtss_f32(lo);
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx512f"))) float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

using DotKernel = float (*)(const float *, const float *, size_t);

DotKernel best_kernel() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return dot_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dot_avx2;
    return dot_scalar;
}

const DotKernel kernel = best_kernel();

float inner_product_distance(const void *a, const void *b, const void *dimensions) {
    return 1.0f - kernel(static_cast<const float *>(a), static_cast<const float *>(b),
                         *static_cast<const size_t *>(dimensions));
}

class InnerProductSpace final : public hnswlib::SpaceInterface<float> {
  public:
    explicit InnerProductSpace(size_t dimensions) : dimensions_(dimensions) {}
    size_t get_data_size() override { return dimensions_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return inner_product_distance; }
    void *get_dist_func_param() override { return &dimensions_; }

  private:
    size_t dimensions_;
};

void report(char *error, size_t capacity, const char *message) {
    if (error && capacity > 0) snprintf(error, capacity, "%s", message);
}

// An anonymous in-memory file, reachable by path through /proc, so hnswlib's
// path-based save and load never put plaintext on a disk.
struct MemoryFile {
    int fd = -1;
    MemoryFile() { fd = memfd_create("anima-hnsw", MFD_CLOEXEC); }
    ~MemoryFile() {
        if (fd >= 0) close(fd);
    }
    std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};

}  // namespace

struct anima_hnsw {
    std::unique_ptr<InnerProductSpace> space;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
    size_t dimensions = 0;
    std::mutex grow;
};

extern "C" {

anima_hnsw *anima_hnsw_create(size_t dimensions, size_t capacity, size_t m, size_t ef_construction, size_t seed,
                              char *error, size_t error_capacity) {
    if (dimensions == 0 || m < 2) {
        report(error, error_capacity, "dimensions must be at least 1 and M at least 2");
        return nullptr;
    }
    try {
        auto index = std::make_unique<anima_hnsw>();
        index->dimensions = dimensions;
        index->space = std::make_unique<InnerProductSpace>(dimensions);
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get(), std::max<size_t>(capacity, 16),
                                                                         m, ef_construction, seed);
        return index.release();
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return nullptr;
    }
}

anima_hnsw *anima_hnsw_deserialize(const uint8_t *bytes, size_t length, size_t dimensions, size_t capacity,
                                   char *error, size_t error_capacity) {
    try {
        MemoryFile file;
        if (file.fd < 0) {
            report(error, error_capacity, "memfd_create failed");
            return nullptr;
        }
        size_t written = 0;
        while (written < length) {
            ssize_t n = write(file.fd, bytes + written, length - written);
            if (n <= 0) {
                report(error, error_capacity, "could not write the index into memory");
                return nullptr;
            }
            written += size_t(n);
        }
        auto index = std::make_unique<anima_hnsw>();
        index->dimensions = dimensions;
        index->space = std::make_unique<InnerProductSpace>(dimensions);
        // hnswlib's loading constructor counts deleted elements onto an uninitialised
        // counter; start from the empty constructor with the counter at zero instead.
        index->graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(index->space.get());
        index->graph->num_deleted_ = 0;
        index->graph->loadIndex(file.path(), index->space.get(), capacity);
        // hnswlib trusts the stored element size; a file for other dimensions would be
        // read as garbage, so refuse it.
        size_t expected = index->graph->size_links_level0_ + dimensions * sizeof(float) + sizeof(hnswlib::labeltype);
        if (index->graph->size_data_per_element_ != expected) {
            report(error, error_capacity, "the stored index was built for vectors of another width");
            return nullptr;
        }
        return index.release();
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return nullptr;
    }
}

int anima_hnsw_serialize(anima_hnsw *index, uint8_t **bytes, size_t *length, char *error, size_t error_capacity) {
    try {
        MemoryFile file;
        if (file.fd < 0) {
            report(error, error_capacity, "memfd_create failed");
            return 0;
        }
        index->graph->saveIndex(file.path());
        off_t size = lseek(file.fd, 0, SEEK_END);
        if (size < 0 || lseek(file.fd, 0, SEEK_SET) < 0) {
            report(error, error_capacity, "could not read the index back from memory");
            return 0;
        }
        auto *out = static_cast<uint8_t *>(malloc(size_t(size) > 0 ? size_t(size) : 1));
        if (!out) {
            report(error, error_capacity, "out of memory");
            return 0;
        }
        size_t done = 0;
        while (done < size_t(size)) {
            ssize_t n = read(file.fd, out + done, size_t(size) - done);
            if (n <= 0) {
                free(out);
                report(error, error_capacity, "could not read the index back from memory");
                return 0;
            }
            done += size_t(n);
        }
        *bytes = out;
        *length = done;
        return 1;
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return 0;
    }
}

void anima_hnsw_free_bytes(uint8_t *bytes) { free(bytes); }

void anima_hnsw_free(anima_hnsw *index) { delete index; }

static void reserve(anima_hnsw *index, size_t needed) {
    std::lock_guard<std::mutex> lock(index->grow);
    size_t capacity = index->graph->max_elements_;
    if (needed <= capacity) return;
    index->graph->resizeIndex(std::max(needed, capacity * 2));
}

int anima_hnsw_add(anima_hnsw *index, uint64_t label, const float *vector, char *error, size_t error_capacity) {
    try {
        reserve(index, index->graph->cur_element_count + 1);
        index->graph->addPoint(vector, label);
        return 1;
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return 0;
    }
}

int anima_hnsw_add_batch(anima_hnsw *index, const uint64_t *labels, const float *vectors, size_t count,
                         size_t threads, char *error, size_t error_capacity) {
    try {
        reserve(index, index->graph->cur_element_count + count);
        std::atomic<size_t> next{0};
        std::atomic<bool> failed{false};
        std::string failure;
        std::mutex failure_lock;
        auto work = [&] {
            while (!failed) {
                size_t i = next.fetch_add(1);
                if (i >= count) return;
                try {
                    index->graph->addPoint(vectors + i * index->dimensions, labels[i]);
                } catch (const std::exception &e) {
                    std::lock_guard<std::mutex> lock(failure_lock);
                    failure = e.what();
                    failed = true;
                }
            }
        };
        size_t n = std::max<size_t>(1, std::min(threads, count));
        std::vector<std::thread> pool;
        for (size_t t = 1; t < n; t++) pool.emplace_back(work);
        work();
        for (auto &t : pool) t.join();
        if (failed) {
            report(error, error_capacity, failure.c_str());
            return 0;
        }
        return 1;
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return 0;
    }
}

int anima_hnsw_erase(anima_hnsw *index, uint64_t label) {
    auto &graph = *index->graph;
    auto found = graph.label_lookup_.find(label);
    if (found == graph.label_lookup_.end() || graph.isMarkedDeleted(found->second)) return 0;
    graph.markDelete(label);
    // Erasure means the vector is gone, not merely hidden: a zero vector still routes
    // searches through the node (distance 1 to everything) but holds nothing.
    memset(graph.getDataByInternalId(found->second), 0, index->dimensions * sizeof(float));
    return 1;
}

int anima_hnsw_contains(const anima_hnsw *index, uint64_t label) {
    auto &graph = *index->graph;
    auto found = graph.label_lookup_.find(label);
    return found != graph.label_lookup_.end() && !graph.isMarkedDeleted(found->second);
}

int anima_hnsw_vector(const anima_hnsw *index, uint64_t label, float *out) {
    auto &graph = *index->graph;
    auto found = graph.label_lookup_.find(label);
    if (found == graph.label_lookup_.end() || graph.isMarkedDeleted(found->second)) return 0;
    memcpy(out, graph.getDataByInternalId(found->second), index->dimensions * sizeof(float));
    return 1;
}

size_t anima_hnsw_count(const anima_hnsw *index) {
    return index->graph->cur_element_count - index->graph->num_deleted_;
}

size_t anima_hnsw_erased_count(const anima_hnsw *index) { return index->graph->num_deleted_; }

size_t anima_hnsw_dimensions(const anima_hnsw *index) { return index->dimensions; }

void anima_hnsw_set_ef(anima_hnsw *index, size_t ef) { index->graph->setEf(std::max<size_t>(ef, 1)); }

long anima_hnsw_search(const anima_hnsw *index, const float *query, size_t k, uint64_t *labels, float *distances,
                       char *error, size_t error_capacity) {
    try {
        auto found = index->graph->searchKnn(query, k);
        long n = long(found.size());
        // The queue yields the farthest first; fill from the back.
        for (long i = n - 1; i >= 0; i--) {
            distances[i] = found.top().first;
            labels[i] = found.top().second;
            found.pop();
        }
        return n;
    } catch (const std::exception &e) {
        report(error, error_capacity, e.what());
        return -1;
    }
}

float anima_hnsw_distance(const anima_hnsw *index, const float *a, const float *b) {
    return 1.0f - kernel(a, b, index->dimensions);
}

}  // extern "C"
