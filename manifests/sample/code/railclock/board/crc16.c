/* CRC-16/CCITT-FALSE and frame building for the platform departure boards.
 *
 * A frame is: STX, length (1 byte), payload, CRC high byte, CRC low byte, ETX.
 * Build and run the self-test with:  cc -DCRC16_TEST -o crc16 crc16.c && ./crc16
 */
#include "crc16.h"

#include <stdio.h>
#include <string.h>

uint16_t crc16_ccitt(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            if (crc & 0x8000)
                crc = (uint16_t)((crc << 1) ^ 0x1021);
            else
                crc = (uint16_t)(crc << 1);
        }
    }
    return crc;
}

int frame_build(const char *text, uint8_t *out, size_t out_size)
{
    size_t len = strlen(text);
    if (len > FRAME_MAX_PAYLOAD || out_size < len + 5)
        return -1;
    out[0] = FRAME_STX;
    out[1] = (uint8_t)len;
    memcpy(out + 2, text, len);
    uint16_t crc = crc16_ccitt((const uint8_t *)text, len);
    out[2 + len] = (uint8_t)(crc >> 8);
    out[3 + len] = (uint8_t)(crc & 0xFF);
    out[4 + len] = FRAME_ETX;
    return (int)(len + 5);
}

int frame_check(const uint8_t *frame, size_t size)
{
    if (size < 5 || frame[0] != FRAME_STX || frame[size - 1] != FRAME_ETX)
        return 0;
    size_t len = frame[1];
    if (len + 5 != size)
        return 0;
    uint16_t crc = crc16_ccitt(frame + 2, len);
    return frame[2 + len] == (crc >> 8) && frame[3 + len] == (crc & 0xFF);
}

#ifdef CRC16_TEST
int main(void)
{
    /* the published check value of CRC-16/CCITT-FALSE */
    const char *check = "123456789";
    uint16_t crc = crc16_ccitt((const uint8_t *)check, strlen(check));
    if (crc != 0x29B1) {
        fprintf(stderr, "crc16 check failed: %04X\n", crc);
        return 1;
    }
    uint8_t frame[FRAME_MAX_PAYLOAD + 5];
    int n = frame_build("07:42 HARBOUR ST   2", frame, sizeof frame);
    if (n < 0 || !frame_check(frame, (size_t)n)) {
        fprintf(stderr, "frame round trip failed\n");
        return 1;
    }
    frame[3] ^= 0x01;
    if (frame_check(frame, (size_t)n)) {
        fprintf(stderr, "corrupted frame was accepted\n");
        return 1;
    }
    printf("ok (%d byte frame)\n", n);
    return 0;
}
#endif
