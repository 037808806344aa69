// The only place Anima includes llama.cpp; AnimaLlama wraps every pointer it hands out.
#include <llama.h>
