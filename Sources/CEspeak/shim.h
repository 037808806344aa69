// The only place Anima includes espeak-ng (Debian's libespeak-ng-dev); AnimaLlama's
// EspeakSynthesizer is its one caller.
#include <espeak-ng/speak_lib.h>
