// fenshen-espeak: a small helper process that speaks through libespeak-ng and streams the audio with
// its phoneme and word events. It is a separate program (GPL-3.0-or-later, like the library it links)
// so that the server talks to eSpeak NG only over pipes.
//
// stdin, one request a line:  <id>\t<voice>\t<rate wpm>\t<pitch 0-100>\t<ssml 0|1>\t<text>\n
//                             (empty text: only checks that the voice loads: 'E', or 'X' then 'E')
//                             <id>\tvoices\n  lists the installed voices: one 'V' record, then 'E'
// stdout, framed records:     <type:1><id:u32le><length:u32le><payload>
//   'R' ready      payload: u32le sample rate (sent once, id 0)
//   'A' audio      payload: s16le mono samples
//   'P' phoneme    payload: u32le sample offset, then the phoneme name (UTF-8)
//   'W' word       payload: u32le sample offset, u32le text position (chars, 1-based), u32le length
//   'E' end        payload: empty (the utterance is complete)
//   'X' error      payload: message (UTF-8)
//   'V' voices     payload: the voices' file names (what a request's voice may be), one a line
#include <espeak-ng/speak_lib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint32_t g_id = 0;
int g_rate = 22050;

void put_u32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; i++) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void record(char type, uint32_t id, const std::string &payload) {
  std::string head(1, type);
  put_u32(head, id);
  put_u32(head, static_cast<uint32_t>(payload.size()));
  fwrite(head.data(), 1, head.size(), stdout);
  if (!payload.empty()) fwrite(payload.data(), 1, payload.size(), stdout);
}

uint32_t ms_to_sample(int ms) { return static_cast<uint32_t>((static_cast<int64_t>(ms) * g_rate) / 1000); }

int on_synth(short *wav, int count, espeak_EVENT *events) {
  if (wav && count > 0) record('A', g_id, std::string(reinterpret_cast<const char *>(wav), static_cast<size_t>(count) * 2));
  for (espeak_EVENT *e = events; e && e->type != espeakEVENT_LIST_TERMINATED; e++) {
    std::string p;
    if (e->type == espeakEVENT_PHONEME) {
      put_u32(p, ms_to_sample(e->audio_position));
      p.append(e->id.string, strnlen(e->id.string, sizeof e->id.string));
      record('P', g_id, p);
    } else if (e->type == espeakEVENT_WORD) {
      put_u32(p, ms_to_sample(e->audio_position));
      put_u32(p, static_cast<uint32_t>(e->text_position));
      put_u32(p, static_cast<uint32_t>(e->length));
      record('W', g_id, p);
    }
  }
  fflush(stdout);
  return 0;
}

std::vector<std::string> split_tabs(const std::string &line, size_t fields) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() + 1 < fields) {
    size_t tab = line.find('\t', start);
    if (tab == std::string::npos) break;
    out.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
  out.push_back(line.substr(start));
  return out;
}

}  // namespace

int main() {
  const char *data = getenv("FENSHEN_ESPEAK_DATA");
  g_rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, data && *data ? data : nullptr, espeakINITIALIZE_PHONEME_EVENTS);
  if (g_rate <= 0) {
    record('X', 0, "espeak-ng failed to initialise (is espeak-ng-data installed?)");
    fflush(stdout);
    return 1;
  }
  espeak_SetSynthCallback(on_synth);
  std::string ready;
  put_u32(ready, static_cast<uint32_t>(g_rate));
  record('R', 0, ready);
  fflush(stdout);

  std::string line;
  int c;
  while ((c = getchar()) != EOF) {
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    std::vector<std::string> f = split_tabs(line, 6);
    line.clear();
    if (f.size() == 2 && f[1] == "voices") {
      uint32_t id = static_cast<uint32_t>(strtoul(f[0].c_str(), nullptr, 10));
      std::string names;
      for (const espeak_VOICE **v = espeak_ListVoices(nullptr); v && *v; v++) {
        // The identifier is <family>/<file>; the file name is what espeak_SetVoiceByName takes.
        const char *identifier = (*v)->identifier ? (*v)->identifier : "";
        const char *slash = strrchr(identifier, '/');
        names.append(slash ? slash + 1 : identifier).push_back('\n');
      }
      record('V', id, names);
      record('E', id, "");
      fflush(stdout);
      continue;
    }
    if (f.size() != 6) {
      record('X', 0, "malformed request");
      fflush(stdout);
      continue;
    }
    g_id = static_cast<uint32_t>(strtoul(f[0].c_str(), nullptr, 10));
    if (espeak_SetVoiceByName(f[1].c_str()) != EE_OK) {
      record('X', g_id, "unknown voice " + f[1]);
      record('E', g_id, "");
      fflush(stdout);
      continue;
    }
    espeak_SetParameter(espeakRATE, atoi(f[2].c_str()), 0);
    espeak_SetParameter(espeakPITCH, atoi(f[3].c_str()), 0);
    unsigned flags = espeakCHARS_UTF8 | (f[4] == "1" ? espeakSSML : 0);
    const std::string &text = f[5];
    if (text.empty()) {
      record('E', g_id, "");
      fflush(stdout);
      continue;
    }
    espeak_ERROR err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, flags, nullptr, nullptr);
    if (err != EE_OK) record('X', g_id, "synthesis failed");
    espeak_Synchronize();
    record('E', g_id, "");
    fflush(stdout);
  }
  espeak_Terminate();
  return 0;
}
