// The only place Anima includes whisper.cpp; AnimaLlama's WhisperEngine wraps every pointer.
#include <whisper.h>
