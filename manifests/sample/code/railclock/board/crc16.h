#ifndef RAILCLOCK_CRC16_H
#define RAILCLOCK_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_STX 0x02
#define FRAME_ETX 0x03
#define FRAME_MAX_PAYLOAD 64

/* CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection. */
uint16_t crc16_ccitt(const uint8_t *data, size_t len);

/* Writes a frame for `text` into `out`; returns its length, or -1 if it does not fit. */
int frame_build(const char *text, uint8_t *out, size_t out_size);

/* 1 when `frame` is well formed and its CRC matches, else 0. */
int frame_check(const uint8_t *frame, size_t size);

#endif
