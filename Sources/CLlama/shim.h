// The only place Anima includes llama.cpp; AnimaProcessor wraps every pointer it hands out.
#include <llama.h>
