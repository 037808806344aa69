#ifndef ANIMA_CHNSW_H
#define ANIMA_CHNSW_H

// A thin C face on hnswlib's HierarchicalNSW (inner-product space, float vectors), so
// that Swift never sees a C++ type. Every function that can fail returns 0/NULL and
// writes a message into `error` (at most `error_capacity` bytes, NUL-terminated);
// no C++ exception crosses this boundary.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct anima_hnsw anima_hnsw;

/// A new, empty index for `dimensions`-wide vectors with room for `capacity` of them.
anima_hnsw *anima_hnsw_create(size_t dimensions, size_t capacity, size_t m, size_t ef_construction,
                              size_t seed, char *error, size_t error_capacity);

/// An index read from bytes that `anima_hnsw_serialize` produced. The bytes are read
/// through an anonymous in-memory file, never a file on disk.
anima_hnsw *anima_hnsw_deserialize(const uint8_t *bytes, size_t length, size_t dimensions, size_t capacity,
                                   char *error, size_t error_capacity);

/// The index as bytes (malloc'ed; free with `anima_hnsw_free_bytes`). Written through an
/// anonymous in-memory file so plaintext vectors never reach a disk.
int anima_hnsw_serialize(anima_hnsw *index, uint8_t **bytes, size_t *length, char *error, size_t error_capacity);
void anima_hnsw_free_bytes(uint8_t *bytes);

void anima_hnsw_free(anima_hnsw *index);

/// Adds (or replaces) the vector under `label`. Grows the index when it is full.
int anima_hnsw_add(anima_hnsw *index, uint64_t label, const float *vector, char *error, size_t error_capacity);

/// Adds `count` vectors (row-major) on `threads` threads; for bulk loads and benchmarks.
int anima_hnsw_add_batch(anima_hnsw *index, const uint64_t *labels, const float *vectors, size_t count,
                         size_t threads, char *error, size_t error_capacity);

/// Erases `label`: marks it deleted and overwrites its stored vector with zeros, so the
/// vector is gone from memory and from every later serialisation. Returns 1 when the
/// label was live, 0 when it was absent or already erased.
int anima_hnsw_erase(anima_hnsw *index, uint64_t label);

/// 1 when `label` is live in the index.
int anima_hnsw_contains(const anima_hnsw *index, uint64_t label);

/// Copies the stored vector of a live `label` into `out`; returns 0 when absent.
int anima_hnsw_vector(const anima_hnsw *index, uint64_t label, float *out);

/// Live (not erased) vectors.
size_t anima_hnsw_count(const anima_hnsw *index);
/// Erased vectors still occupying graph nodes.
size_t anima_hnsw_erased_count(const anima_hnsw *index);
size_t anima_hnsw_dimensions(const anima_hnsw *index);

/// Search breadth: larger is slower and more accurate. Never below k at search time.
void anima_hnsw_set_ef(anima_hnsw *index, size_t ef);

/// The `k` nearest live vectors to `query`, closest first. Distances are 1 - dot product.
/// Returns how many were found (at most k), or -1 on error.
long anima_hnsw_search(const anima_hnsw *index, const float *query, size_t k, uint64_t *labels, float *distances,
                       char *error, size_t error_capacity);

/// Exact 1 - dot product of two vectors with the kernel the index uses.
float anima_hnsw_distance(const anima_hnsw *index, const float *a, const float *b);

#ifdef __cplusplus
}
#endif

#endif
